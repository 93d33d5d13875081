/**
 * Pictures on a PostgreSQL library, as an operator runs them (spawned CLI,
 * `--json`): ingest stores each meme's hashes there, `ingest
 * --skip-duplicates` skips a re-shared copy naming the meme kept,
 * `dupes` tells duplicates from a template variant, `dupes --merge` folds the
 * copies into the kept meme, and `verify` is clean afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import type { DupesJson } from '../helpers/maintenance.js';
import { writeCopyStaging, writeVariantStaging } from '../helpers/picture-variants.js';
import { describeIfPostgres } from '../helpers/postgres.js';
import { STORE_BACKENDS } from '../helpers/store-backends.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

describeIfPostgres('pictures on a PostgreSQL library', () => {
  let ws: Workspace;
  let drop: () => Promise<void>;
  const cli = async <T>(...args: string[]): Promise<{ code: number | null; json: T; stderr: string }> => {
    const run = await runCli(['--config', ws.config, '--json', ...args]);
    return { code: run.code, json: JSON.parse(run.stdout) as T, stderr: run.stderr };
  };

  before(async () => {
    ws = makeWorkspace();
    drop = await STORE_BACKENDS.find((b) => b.name === 'PostgreSQL')!.useIn(ws);
    // Three re-encoded shares of one meme, then a cropped share and a re-captioned one of its picture.
    await writeCopyStaging(ws.staging, 'shares', 's001', 3);
    await writeVariantStaging(ws.staging, 'later', ['s001'], ['crop', 'recaption']);
  });
  after(async () => {
    await drop?.();
    ws?.cleanup();
  });

  test('ingest --skip-duplicates, dupes, dupes --merge, then verify is clean', async () => {
    const shares = await cli<{ added: number }>('ingest', '--source', 'staging:shares');
    assert.equal(shares.code, 0, shares.stderr);
    assert.equal(shares.json.added, 3);

    const later = await cli<{ added: number; skipped: number }>('ingest', '--source', 'staging:later', '--skip-duplicates');
    assert.equal(later.code, 0, later.stderr);
    assert.deepEqual([later.json.added, later.json.skipped], [1, 1], 'the crop is skipped, the re-captioned picture is new');

    // One group of the three shares (two copies); one template group of two captions (the shares' keeper and the re-captioned picture).
    const found = await cli<DupesJson>('dupes');
    assert.equal(found.code, 0, found.stderr);
    assert.equal(found.json.hashed.added, 0, 'ingest stored every hash');
    assert.deepEqual([found.json.counts.duplicate_groups, found.json.counts.duplicates, found.json.counts.variant_groups, found.json.counts.variants], [1, 2, 1, 2],
      JSON.stringify([found.json.duplicate_groups, found.json.variant_groups], ['kept', 'copies', 'template', 'members', 'id', 'caption', 'distance', 'width']),
    );
    const group = found.json.duplicate_groups[0]!;

    const merged = await cli<DupesJson>('dupes', '--merge');
    assert.equal(merged.code, 0, merged.stderr);
    assert.deepEqual([merged.json.merge!.merged, merged.json.merge!.objects_deleted, merged.json.merge!.variants_linked], [2, 2, 1]);
    const verify = await cli<{ found: number; issues: unknown[]; totals: Record<string, number> }>('verify');
    assert.equal(verify.json.found, 0, JSON.stringify(verify.json.issues));
    assert.equal(verify.json.totals.memes, 2, 'the kept meme and the template variant');

    const recall = await cli<{ results: Array<{ md5: string }> }>('recall', group.copies[0]!.caption, '--top-k', '3');
    assert.equal(recall.json.results[0]?.md5, group.kept.md5, 'a merged copy’s caption finds the kept meme');
    const again = await cli<{ added: number; skipped: number }>('ingest', '--source', 'staging:shares');
    assert.deepEqual([again.json.added, again.json.skipped], [0, 3], 'merged shares staged again are the kept meme');
  });
});
