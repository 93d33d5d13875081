/**
 * verify, stats and purge as an operator runs them: a spawned CLI with no TTY
 * and no stdin, exit codes, one JSON object on stdout with --json.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { generateLibrary } from '../helpers/library-generator.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

describe('verify / stats / purge CLI', () => {
  let ws: Workspace;
  let md5: (i: number) => string;
  before(() => {
    ws = makeWorkspace();
    ({ md5 } = generateLibrary({ db: ws.db, objects: ws.objects, memes: 50, dims: 16, collection: 'emomo-local-16' }));
  });
  after(() => ws.cleanup());
  const cli = (...args: string[]) => runCli(['--config', ws.config, ...args]);

  test('verify --json on a consistent library: exit 0, one JSON object', async () => {
    const r = await cli('--json', 'verify');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const report = JSON.parse(lines[0]!) as { consistent: boolean; found: number; totals: { memes: number } };
    assert.deepEqual([report.consistent, report.found, report.totals.memes], [true, 0, 50]);
  });

  test('a lost object: verify exits 1 and names it; --repair fixes it and exits 0', async () => {
    fs.rmSync(path.join(ws.objects, md5(7).slice(0, 2), `${md5(7)}.png`));
    const found = await cli('verify', '--examples', '1');
    assert.equal(found.code, 1);
    assert.equal(found.stdout, '');
    assert.match(found.stderr, /meme_without_object\s+1\s+[0-9a-f]{32}/);
    const repaired = await cli('verify', '--repair');
    assert.equal(repaired.code, 0, repaired.stderr);
    assert.match(repaired.stderr, /after repair: no inconsistencies/);
    assert.equal((await cli('verify')).code, 0);
  });

  test('stats --json and purge: without --yes a dry run, --dry-run the same, then a real purge', async () => {
    const stats = JSON.parse((await cli('--json', 'stats')).stdout) as { sources: Array<{ source: string; memes: number }> };
    assert.deepEqual(stats.sources.map((s) => [s.source, s.memes]), [['staging:generated', 49]]);

    const withoutYes = await cli('purge', '--source', 'staging:generated');
    assert.equal(withoutYes.code, 0, withoutYes.stderr);
    assert.match(withoutYes.stderr, /dry run: add --yes/);

    const dry = await cli('--json', 'purge', '--source', 'staging:generated', '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal((JSON.parse(dry.stdout) as { memes_removed: number }).memes_removed, 49);

    const real = await cli('purge', '--source=staging:generated', '--yes');
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stderr, /memes removed\s+49/);
    const emptied = JSON.parse((await cli('--json', 'stats')).stdout) as { storage: { memes: number; bytes: number; objects: number } };
    assert.deepEqual(emptied.storage, { memes: 0, bytes: 0, objects: 0 });
  });
});
