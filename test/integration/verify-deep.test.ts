/**
 * `verify --deep`: objects whose bytes no longer match their md5 (overwritten,
 * truncated) are found and re-stored from the staging files that still have
 * them; the database file's own integrity check runs, and a damaged database
 * is reported clearly and never "repaired" by deleting anything.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { DamagedLibraryError } from '../../src/errors.js';
import { FakeDescriber, FakeEmbedder } from '../helpers/fakes.js';
import { libraryCounts } from '../helpers/library.js';
import { issueCounts, runVerify } from '../helpers/maintenance.js';
import { runIngest } from '../helpers/run-ingest.js';
import { copySample, listObjects, makeWorkspace, type Workspace } from '../helpers/workspace.js';

const n = 6;
const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function memes(ws: Workspace): Array<{ md5: string; storage_key: string; source_id: string }> {
  const db = new Database(ws.db, { readonly: true });
  try {
    return db.prepare('SELECT md5, storage_key, source_id FROM memes ORDER BY id').all() as ReturnType<typeof memes>;
  } finally {
    db.close();
  }
}

/** Changes one hex digit of a meme's md5 inside the memes table's page, behind SQLite's back (its index still has the old one). */
function flipMd5InTable(ws: Workspace, md5: string): void {
  const db = new Database(ws.db, { readonly: true });
  const page = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'memes'").pluck().get() as number;
  const size = db.pragma('page_size', { simple: true }) as number;
  db.close();
  const bytes = fs.readFileSync(ws.db);
  const start = (page - 1) * size;
  const at = bytes.subarray(start, start + size).indexOf(md5, 0, 'latin1');
  assert.ok(at >= 0, 'md5 found in the table page');
  bytes[start + at] = md5[0] === '0' ? 0x31 : 0x30;
  fs.writeFileSync(ws.db, bytes);
}

describe('verify --deep', () => {
  let ws: Workspace;
  beforeEach(async () => {
    ws = makeWorkspace();
    copySample(ws, 'sample', n);
    const run = await runIngest(ws, { source: 'staging:sample' }, { describer: new FakeDescriber(), embedder: () => new FakeEmbedder(256) });
    assert.equal(run.code, 0);
  });
  afterEach(() => ws.cleanup());

  test('overwritten and truncated objects are found and re-stored from staging; one no source has is reported, not deleted', async () => {
    const [overwritten, truncated, orphaned] = memes(ws);
    const file = (m: { storage_key: string }) => path.join(ws.objects, m.storage_key);
    const staged = (m: { source_id: string }) => {
      const dir = path.join(ws.staging, 'sample', 'images');
      return path.join(dir, fs.readdirSync(dir).find((f) => f.startsWith(m.source_id))!);
    };
    fs.writeFileSync(file(overwritten!), fs.readFileSync(file(orphaned!)));
    fs.truncateSync(file(truncated!), Math.floor(fs.statSync(file(truncated!)).size / 2));
    fs.writeFileSync(file(orphaned!), 'not an image any more');
    fs.rmSync(staged(orphaned!));

    const shallow = await runVerify(ws);
    assert.deepEqual([shallow.code, shallow.report.found], [0, 0], 'only reading the bytes shows the damage');
    const deep = await runVerify(ws, { deep: true });
    assert.equal(deep.code, 1);
    assert.deepEqual(issueCounts(deep.report.issues), { object_content_mismatch: 3 });
    assert.match(deep.report.issues[0]!.examples.join(' '), new RegExp(`${truncated!.storage_key} \\(\\d+ bytes, md5 [0-9a-f]{32}\\)`));

    const repaired = await runVerify(ws, { deep: true, repair: true });
    assert.equal(repaired.code, 1, 'the damaged object no source has is still damaged');
    assert.deepEqual(repaired.report.repaired!.map((a) => [a.kind, a.fixed]), [['object_content_mismatch', 2]]);
    assert.deepEqual(issueCounts(repaired.report.remaining!), { object_content_mismatch: 1 });
    assert.deepEqual(repaired.report.remaining![0]!.examples, [orphaned!.storage_key]);
    for (const m of [overwritten!, truncated!]) assert.equal(sha(file(m)), sha(staged(m)));
    assert.deepEqual(libraryCounts(ws, ['memes', 'objects']), { memes: n, objects: n });
    assert.deepEqual(issueCounts((await runVerify(ws, { deep: true })).report.issues), { object_content_mismatch: 1 });
  });

  test('a damaged database: --deep reports the integrity check, --repair changes nothing, an unreadable file is a clear error', async () => {
    const [first] = memes(ws);
    fs.rmSync(path.join(ws.objects, first!.storage_key));
    flipMd5InTable(ws, first!.md5);
    const dbBefore = sha(ws.db);
    const objectsBefore = listObjects(ws.objects).sort();

    const deep = await runVerify(ws, { deep: true });
    assert.equal(deep.code, 1);
    assert.deepEqual(Object.keys(issueCounts(deep.report.issues)), ['database_integrity']);
    assert.match(deep.report.issues[0]!.examples.join('\n'), /index|missing|wrong/);

    const repair = await runVerify(ws, { repair: true });
    assert.equal(repair.code, 1);
    assert.ok(repair.report.issues.some((i) => i.kind === 'database_integrity'), repair.text);
    assert.match(repair.report.notes.join(' '), /damaged.*nothing was repaired/);
    assert.equal(repair.report.repaired!.length, 0);
    assert.equal(sha(ws.db), dbBefore, 'the database file is unchanged');
    assert.deepEqual(listObjects(ws.objects).sort(), objectsBefore, 'no object deleted');

    const bytes = fs.readFileSync(ws.db);
    bytes.fill(0x5a, 4096, bytes.length); // the header still says SQLite; every page after the first is garbage
    fs.writeFileSync(ws.db, bytes);
    await assert.rejects(runVerify(ws, { repair: true }), (err) => err instanceof DamagedLibraryError && /the database file is damaged .*nothing was changed/.test(err.message));
    assert.deepEqual(listObjects(ws.objects).sort(), objectsBefore);
  });
});
