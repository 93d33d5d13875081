/**
 * `emomo verify` against a real library built by ingest (real SQLite, real
 * local object store, counting fakes for the describer and embedder): a clean
 * library reports nothing; a deliberately damaged one is reported with exact
 * counts per kind and healed by `--repair` without losing a meme or an image:
 * lost objects come back from their staging files, missing vectors are
 * re-queued for `emomo embed`, and a repair that would delete most of the
 * library refuses.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { insertVector, listCollections, vecTableName } from '../../src/store/sqlite/vector-tables.js';
import { FakeDescriber, FakeEmbedder } from '../helpers/fakes.js';
import { libraryCounts } from '../helpers/library.js';
import { issueCounts, runEmbed, runVerify } from '../helpers/maintenance.js';
import { runIngest } from '../helpers/run-ingest.js';
import { copySample, listObjects, makeWorkspace, type Workspace } from '../helpers/workspace.js';

function openRaw(ws: Workspace): Database.Database {
  const db = new Database(ws.db);
  sqliteVec.load(db);
  db.pragma('foreign_keys = OFF');
  return db;
}

const embedders = { embedder: (e: { name: string }) => new FakeEmbedder(e.name === 'second' ? 128 : 256) };
function memes(ws: Workspace): Array<{ id: number; md5: string; storage_key: string; source_id: string }> {
  const db = openRaw(ws);
  try {
    return db.prepare('SELECT id, md5, storage_key, source_id FROM memes ORDER BY id').all() as ReturnType<typeof memes>;
  } finally {
    db.close();
  }
}
const stagedFile = (ws: Workspace, sourceId: string) => path.join(ws.staging, 'sample', 'images', fs.readdirSync(path.join(ws.staging, 'sample', 'images')).find((f) => f.startsWith(sourceId))!);

describe('verify', () => {
  let ws: Workspace;
  const n = 8;

  beforeEach(async () => {
    ws = makeWorkspace();
    copySample(ws, 'sample', n);
    const overrides = { describer: new FakeDescriber(), ...embedders };
    assert.equal((await runIngest(ws, { source: 'staging:sample' }, overrides)).code, 0);
    assert.equal((await runIngest(ws, { source: 'staging:sample', embedding: 'second' }, overrides)).code, 0);
  });
  afterEach(() => ws.cleanup());

  test('an object whose image a live ingest has claimed is in flight, not an orphan; a dead claimer\'s is', async () => {
    const md5 = 'cd'.repeat(16);
    const key = `cd/${md5}.png`;
    fs.mkdirSync(path.join(ws.objects, 'cd'), { recursive: true });
    fs.writeFileSync(path.join(ws.objects, key), 'stored, rows not yet committed');
    const db = openRaw(ws);
    const expires = new Date(Date.now() + 60_000).toISOString();
    const claim = db.prepare('INSERT OR REPLACE INTO item_claims (md5, collection, owner, expires_at) VALUES (?, ?, ?, ?)');
    claim.run(md5, 'emomo-local', `${os.hostname()}/${process.pid}/live`, expires);
    db.close();
    let run = await runVerify(ws, { repair: true });
    assert.equal(issueCounts(run.report.issues).object_without_meme ?? 0, 0);
    assert.ok(fs.existsSync(path.join(ws.objects, key)), 'repair left the in-flight object alone');

    const again = openRaw(ws);
    again.prepare('UPDATE item_claims SET owner = ? WHERE md5 = ?').run(`${os.hostname()}/999999999/dead`, md5);
    again.close();
    run = await runVerify(ws, { repair: true });
    assert.equal(issueCounts(run.report.issues).object_without_meme, 1);
    assert.ok(!fs.existsSync(path.join(ws.objects, key)), 'the dead claimer\'s object is an orphan and was removed');
  });

  test('a clean library after ingest reports zero and exits 0', async () => {
    // A fresh temporary file may belong to a running ingest: not a leftover.
    const shard = fs.readdirSync(ws.objects)[0]!;
    fs.writeFileSync(path.join(ws.objects, shard, '.tmp-00112233aabb'), 'in flight');
    const { code, report } = await runVerify(ws, { deep: true });
    assert.equal(code, 0);
    assert.equal(report.consistent, true);
    assert.equal(report.found, 0);
    assert.deepEqual(report.issues, []);
    assert.deepEqual(report.totals, { memes: n, vectors: 2 * n, descriptions: n, fts_rows: n, objects: n });
    assert.deepEqual(report.backfill.map((b) => b.missing), [0, 0]);
  });

  test('a damaged library is reported with exact counts and healed without losing a meme or an image', async () => {
    const db = openRaw(ws);
    const [lostObject, noFts, noVectors, wrongDims] = memes(ws);
    const ftsBefore = db.prepare('SELECT ocr_text, description, tags FROM memes_fts WHERE rowid = ?').get(noFts!.id);
    const second = listCollections(db).find((c) => c.name === 'second')!;
    const orphanKey = `ab/${'ab'.repeat(16)}.png`;
    fs.mkdirSync(path.join(ws.objects, 'ab'), { recursive: true });
    fs.writeFileSync(path.join(ws.objects, orphanKey), 'orphan');
    const tmp = path.join(ws.objects, 'ab', '.tmp-0123456789ab');
    fs.writeFileSync(tmp, 'partial');
    fs.utimesSync(tmp, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
    fs.rmSync(path.join(ws.objects, lostObject!.storage_key));
    db.prepare('DELETE FROM memes_fts WHERE rowid = ?').run(noFts!.id);
    db.prepare("INSERT INTO memes_fts (rowid, ocr_text, description, tags) VALUES (9999, 'x', 'x', 'x')").run();
    // No vector row anywhere (its vec0 rows stay behind: 2 vec0 rows without a vector row).
    db.prepare('DELETE FROM meme_vectors WHERE meme_id = ?').run(noVectors!.id);
    insertVector(db, second, 9998, new Float32Array(128).fill(0.1), { category: 'x', isAnimated: false, source: 'x' });
    db.prepare(
      `INSERT INTO meme_vectors (meme_id, md5, collection, model, dims, vlm_model, prompt_version)
       VALUES (9999, ?, 'emomo-local', 'fake-embed', 256, 'gone-vlm', 'gone-1')`,
    ).run('f'.repeat(32));
    db.prepare("UPDATE meme_vectors SET dims = 7 WHERE meme_id = ? AND collection = 'second'").run(wrongDims!.id);
    db.prepare("INSERT INTO meme_sources (source_type, source_id, meme_id) VALUES ('staging:gone', 'g1', 9999)").run();
    db.close();

    const before = await runVerify(ws);
    assert.equal(before.code, 1);
    assert.deepEqual(issueCounts(before.report.issues), {
      object_without_meme: 1,
      meme_without_object: 1,
      vector_row_without_meme: 1,
      vec_row_without_vector_row: 3,
      vector_row_without_vec_row: 1,
      vector_dims_mismatch: 1,
      meme_without_vector: 1,
      vector_without_description: 1,
      fts_row_without_meme: 1,
      meme_without_fts_row: 1,
      source_link_without_meme: 1,
      leftover_temp_file: 1,
    });
    assert.deepEqual(before.report.issues.find((i) => i.kind === 'object_without_meme')!.examples, [orphanKey]);
    assert.match(before.report.issues.find((i) => i.kind === 'meme_without_object')!.examples[0]!, new RegExp(lostObject!.md5));

    const repaired = await runVerify(ws, { repair: true });
    // The meme without a vector stays until `emomo embed` gives it one.
    assert.equal(repaired.code, 1, repaired.text);
    assert.deepEqual(issueCounts(repaired.report.remaining!), { meme_without_vector: 1 });
    const fixed = Object.fromEntries(repaired.report.repaired!.map((a) => [a.kind, a.fixed]));
    assert.deepEqual(
      [fixed.meme_without_object, fixed.object_without_meme, fixed.meme_without_fts_row, fixed.meme_without_vector, fixed.leftover_temp_file],
      [1, 1, 1, 1, 1],
    );
    assert.match(repaired.report.repaired!.find((a) => a.kind === 'meme_without_object')!.action, /^1 re-stored from their source files, 0 removed/);
    assert.deepEqual(repaired.report.requeued, [{ collection: 'emomo-local', memes: 1 }, { collection: 'second', memes: 2 }]);
    assert.deepEqual([repaired.report.totals_after_repair!.memes, listObjects(ws.objects).length], [n, n], 'no meme and no image lost');
    assert.deepEqual(fs.readFileSync(path.join(ws.objects, lostObject!.storage_key)), fs.readFileSync(stagedFile(ws, lostObject!.source_id)));
    assert.equal(fs.existsSync(tmp), false);
    const check = openRaw(ws);
    assert.deepEqual(check.prepare('SELECT ocr_text, description, tags FROM memes_fts WHERE rowid = ?').get(noFts!.id), ftsBefore);
    check.close();
    assert.equal(libraryCounts(ws, ['descriptions']).descriptions, n, 'descriptions are a paid cache: never deleted');

    // What repair re-queued, embed fills: then everything is consistent.
    for (const name of ['local', 'second']) assert.equal((await runEmbed(ws, name, embedders)).code, 0);
    const after = await runVerify(ws);
    assert.deepEqual([after.code, after.report.found], [0, 0], after.text);
    assert.deepEqual(after.report.backfill.map((b) => b.missing), [0, 0]);
  });

  test('vector and keyword rows deleted: repair rebuilds or re-queues them; zero memes and zero objects deleted', async () => {
    const [a, b, c, d] = memes(ws);
    const db = openRaw(ws);
    db.prepare('DELETE FROM memes_fts').run();
    for (const m of [a, b]) db.prepare('DELETE FROM meme_vectors WHERE meme_id = ?').run(m!.id);
    for (const m of [c, d]) db.prepare(`DELETE FROM "${vecTableName('emomo-local')}" WHERE meme_id = ?`).run(m!.id);
    db.close();
    const counted = () => libraryCounts(ws, ['memes', 'objects', 'descriptions']);
    const before = counted();

    const repaired = await runVerify(ws, { repair: true });
    assert.deepEqual(counted(), before, repaired.text);
    assert.deepEqual(repaired.report.requeued, [{ collection: 'emomo-local', memes: 4 }, { collection: 'second', memes: 2 }]);
    assert.equal(repaired.report.repaired!.find((a) => a.kind === 'meme_without_fts_row')?.fixed, n);
    assert.equal(libraryCounts(ws, ['fts']).fts, n);
    for (const name of ['local', 'second']) {
      const run = await runEmbed(ws, name, embedders);
      assert.equal(run.report.embedded, name === 'local' ? 4 : 2);
    }
    const after = await runVerify(ws);
    assert.deepEqual([after.code, after.report.found, after.report.totals.memes, after.report.totals.objects], [0, 0, n, n]);
  });

  test('a lost object no source has any more: the meme goes, its description stays, and a re-ingest adds it back unpaid', async () => {
    const [lost] = memes(ws);
    fs.rmSync(path.join(ws.objects, lost!.storage_key));
    const staged = stagedFile(ws, lost!.source_id);
    const bytes = fs.readFileSync(staged);
    fs.rmSync(staged);
    const repaired = await runVerify(ws, { repair: true });
    assert.equal(repaired.code, 0, repaired.text);
    assert.match(repaired.report.repaired!.find((a) => a.kind === 'meme_without_object')!.action, /0 re-stored .*, 1 removed/);
    assert.deepEqual(libraryCounts(ws, ['memes', 'objects', 'descriptions']), { memes: n - 1, objects: n - 1, descriptions: n });

    fs.writeFileSync(staged, bytes);
    const describer = new FakeDescriber();
    const rerun = await runIngest(ws, { source: 'staging:sample' }, { describer, ...embedders });
    assert.deepEqual([rerun.summary.added, describer.calls], [1, 0]);
  });

  test('when every object is missing and no source has them, repair refuses (exit 2) and changes nothing; --force goes ahead', async () => {
    fs.rmSync(ws.objects, { recursive: true });
    fs.rmSync(path.join(ws.staging, 'sample'), { recursive: true });
    const refused = await runVerify(ws, { repair: true });
    assert.equal(refused.code, 2);
    assert.deepEqual([refused.report.refused?.memes, refused.report.refused?.objects], [n, 0]);
    assert.match(refused.report.refused!.reason, /every meme's object is missing \(8\)/);
    assert.equal(refused.report.refused!.examples.length, 3);
    assert.match(refused.log, /refused: .*nothing was deleted \(add --force/);
    assert.equal(libraryCounts(ws, ['memes']).memes, n);

    const forced = await runVerify(ws, { repair: true, force: true });
    assert.equal(forced.code, 0, forced.text);
    assert.equal(libraryCounts(ws, ['memes']).memes, 0);
  });
});
