/**
 * Recall shows a meme once, however many copies of it the library holds:
 * twenty re-encoded shares of 我太难了 (ingested with the offline defaults,
 * real OCR) come back as one hit listing the others as its duplicates, by
 * text and by picture; `--all-duplicates` shows every copy; a template
 * variant (the same picture with another caption) stays a hit of its own.
 * Ingested once into SQLite, the library is migrated to every other backend
 * (image vectors are ordinary vectors) and recall runs on each copy.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { copyToEveryBackend, type BackendLibraries } from '../helpers/library-copies.js';
import { runEmbed } from '../helpers/maintenance.js';
import { writeCopyStaging, writeVariantStaging } from '../helpers/picture-variants.js';
import { recallInProcess } from '../helpers/recall-json.js';
import { runIngest } from '../helpers/run-ingest.js';
import { STORE_BACKENDS } from '../helpers/store-backends.js';
import { copySample, makeWorkspace, sampleDir, type Workspace } from '../helpers/workspace.js';

const PICTURES = 'embeddings:\n  - name: local\n    provider: local\n    dimensions: 256\n    collection: emomo-local\n    is_default: true\n' +
  '  - name: pictures\n    provider: local\n    input: image\n    dimensions: 192\n    collection: pictures\n';
const COPIES = 20;

describe('recall collapses exact duplicates', { timeout: 600_000 }, () => {
  let ws: Workspace;
  let libraries: BackendLibraries | undefined;
  /** md5 → source id (s001, s001-copy3, s001-recaption...). */
  const names = new Map<string, string>();
  const isCopy = (md5: string) => /^s001(-copy\d+)?$/.test(names.get(md5) ?? '');

  before(async () => {
    ws = makeWorkspace('', PICTURES);
    copySample(ws);
    await writeCopyStaging(ws.staging, 'copies', 's001', COPIES);
    await writeVariantStaging(ws.staging, 'variants', ['s001'], ['recaption']);
    for (const source of ['staging:sample', 'staging:copies', 'staging:variants']) {
      const run = await runIngest(ws, { source });
      assert.equal(run.summary.failed, 0, run.log);
    }
    const embed = await runEmbed(ws, 'pictures');
    assert.equal(embed.code, 0, embed.log);
    const db = new Database(ws.db, { readonly: true });
    for (const r of db.prepare('SELECT md5, source_id FROM memes').all() as Array<{ md5: string; source_id: string }>) names.set(r.md5, r.source_id);
    db.close();
    assert.equal([...names.keys()].filter(isCopy).length, COPIES + 1);
    libraries = await copyToEveryBackend(ws);
  });
  after(async () => {
    await libraries?.cleanup();
    ws?.cleanup();
  });

  for (const backend of STORE_BACKENDS) {
    describe(backend.name, { skip: backend.unavailable }, () => {
      const config = () => libraries!.get(backend.name).config;

      test('recall of 我太难了 returns one hit for the 21 copies, not 21; --all-duplicates shows them', async () => {
        for (const mode of ['hybrid', 'keyword', 'vector'] as const) {
          const { code, json } = await recallInProcess(config(), '我太难了', { mode, topK: 10 });
          assert.equal(code, 0);
          const copies = json.results.filter((r) => isCopy(r.md5));
          assert.equal(copies.length, 1, `${mode}: ${json.results.map((r) => names.get(r.md5)).join(' ')}`);
          assert.equal(json.results[0]!.md5, copies[0]!.md5, `${mode}: the copies rank first`);
          assert.equal(copies[0]!.duplicates.length, COPIES, mode);
          assert.ok(json.collapsed >= COPIES, mode);
        }
        const all = await recallInProcess(config(), '我太难了', { topK: 10, allDuplicates: true });
        assert.equal(all.json.results.filter((r) => isCopy(r.md5)).length, 10);
        assert.equal(all.json.collapsed, 0);
        assert.ok(all.json.results.every((r) => r.duplicates.length === 0));
      });

      test('by picture: the copies are one hit, the re-captioned template variant another', async () => {
        const { code, json } = await recallInProcess(config(), '', { image: path.join(sampleDir, 'images', 's001.png'), topK: 3 });
        assert.equal(code, 0);
        const shown = json.results.map((r) => names.get(r.md5)!);
        assert.ok(isCopy(json.results[0]!.md5), shown.join(' '));
        assert.equal(json.results.filter((r) => isCopy(r.md5)).length, 1, shown.join(' '));
        assert.equal(json.results[0]!.duplicates.length, COPIES, 'searched again deeper, once folding ate the page');
        assert.equal(shown[1], 's001-recaption', shown.join(' '));
        assert.equal(json.results.length, 3);
      });
    });
  }
});
