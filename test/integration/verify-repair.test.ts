/**
 * `emomo verify` against a real library built by ingest (real SQLite, real
 * local object store, counting fakes for the describer and embedder): a clean
 * library reports nothing; a deliberately corrupted one is reported with exact
 * counts per kind and healed by `--repair`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { createApp } from '../../src/app.js';
import { verify } from '../../src/cli/commands/verify.js';
import { Reporter } from '../../src/cli/reporter.js';
import type { VerifyReport } from '../../src/pipeline/verify-service.js';
import { insertVector, listCollections } from '../../src/store/sqlite/vector-tables.js';
import { FakeDescriber, FakeEmbedder } from '../helpers/fakes.js';
import { Capture, runIngest } from '../helpers/run-ingest.js';
import { copySample, listObjects, makeWorkspace, type Workspace } from '../helpers/workspace.js';

async function runVerify(ws: Workspace, repair = false): Promise<{ code: number; report: VerifyReport; text: string }> {
  const app = createApp({ configPath: ws.config });
  const stdout = new Capture();
  try {
    const code = await verify({ repair, examples: 3 }, app, new Reporter({ json: true, quiet: true, verbose: false }, new Capture(), stdout));
    return { code, report: JSON.parse(stdout.text) as VerifyReport, text: stdout.text };
  } finally {
    await app.close();
  }
}

const counts = (issues: VerifyReport['issues']) => Object.fromEntries(issues.map((i) => [i.kind, i.count]));

function openRaw(ws: Workspace): Database.Database {
  const db = new Database(ws.db);
  sqliteVec.load(db);
  db.pragma('foreign_keys = OFF');
  return db;
}

describe('verify', () => {
  let ws: Workspace;
  const n = 8;

  beforeEach(async () => {
    ws = makeWorkspace();
    copySample(ws, 'sample', n);
    const describer = new FakeDescriber();
    const first = new FakeEmbedder(256);
    const second = new FakeEmbedder(128);
    const overrides = { describer, embedder: (e: { name: string }) => (e.name === 'second' ? second : first) };
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
    let run = await runVerify(ws, true);
    assert.equal(counts(run.report.issues).object_without_meme ?? 0, 0);
    assert.ok(fs.existsSync(path.join(ws.objects, key)), 'repair left the in-flight object alone');

    const again = openRaw(ws);
    again.prepare('UPDATE item_claims SET owner = ? WHERE md5 = ?').run(`${os.hostname()}/999999999/dead`, md5);
    again.close();
    run = await runVerify(ws, true);
    assert.equal(counts(run.report.issues).object_without_meme, 1);
    assert.ok(!fs.existsSync(path.join(ws.objects, key)), 'the dead claimer\'s object is an orphan and was removed');
  });

  test('a clean library after ingest reports zero and exits 0', async () => {
    // A fresh temporary file may belong to a running ingest: not a leftover.
    const shard = fs.readdirSync(ws.objects)[0]!;
    fs.writeFileSync(path.join(ws.objects, shard, '.tmp-00112233aabb'), 'in flight');
    const { code, report } = await runVerify(ws);
    assert.equal(code, 0);
    assert.equal(report.consistent, true);
    assert.equal(report.found, 0);
    assert.deepEqual(report.issues, []);
    assert.deepEqual(report.totals, { memes: n, vectors: 2 * n, descriptions: n, fts_rows: n, objects: n });
    assert.deepEqual(report.backfill.map((b) => b.missing), [0, 0]);
  });

  test('a corrupted library is reported with exact counts and healed by --repair', async () => {
    const db = openRaw(ws);
    const memes = db.prepare('SELECT id, md5, storage_key FROM memes ORDER BY id').all() as Array<{ id: number; md5: string; storage_key: string }>;
    const [lostObject, noFts, noVectors, wrongDims] = memes;
    const ftsBefore = db.prepare('SELECT ocr_text, description, tags FROM memes_fts WHERE rowid = ?').get(noFts!.id);
    const second = listCollections(db).find((c) => c.name === 'second')!;

    // An object no meme refers to, and a temporary file left by a crashed write (an hour old).
    const orphanKey = `ab/${'ab'.repeat(16)}.png`;
    fs.mkdirSync(path.join(ws.objects, 'ab'), { recursive: true });
    fs.writeFileSync(path.join(ws.objects, orphanKey), 'orphan');
    const tmp = path.join(ws.objects, 'ab', '.tmp-0123456789ab');
    fs.writeFileSync(tmp, 'partial');
    fs.utimesSync(tmp, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
    // A meme whose object was deleted.
    fs.rmSync(path.join(ws.objects, lostObject!.storage_key));
    // A meme missing from the keyword index, and a keyword row for no meme.
    db.prepare('DELETE FROM memes_fts WHERE rowid = ?').run(noFts!.id);
    db.prepare("INSERT INTO memes_fts (rowid, ocr_text, description, tags) VALUES (9999, 'x', 'x', 'x')").run();
    // A meme with no vector row anywhere (its vec0 rows stay behind: 2 vec0 rows without a vector row).
    db.prepare('DELETE FROM meme_vectors WHERE meme_id = ?').run(noVectors!.id);
    // A vec0 row for no meme, and a vector row for no meme (with no vec0 row and no description).
    insertVector(db, second, 9998, new Float32Array(128).fill(0.1), { category: 'x', isAnimated: false, source: 'x' });
    db.prepare(
      `INSERT INTO meme_vectors (meme_id, md5, collection, model, dims, vlm_model, prompt_version)
       VALUES (9999, ?, 'emomo-local', 'fake-embed', 256, 'gone-vlm', 'gone-1')`,
    ).run('f'.repeat(32));
    // A vector row whose dimension disagrees with its collection.
    db.prepare("UPDATE meme_vectors SET dims = 7 WHERE meme_id = ? AND collection = 'second'").run(wrongDims!.id);
    // A source link to no meme.
    db.prepare("INSERT INTO meme_sources (source_type, source_id, meme_id) VALUES ('staging:gone', 'g1', 9999)").run();
    db.close();

    const before = await runVerify(ws);
    assert.equal(before.code, 1);
    assert.deepEqual(counts(before.report.issues), {
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

    const repaired = await runVerify(ws, true);
    assert.equal(repaired.code, 0, repaired.text);
    assert.equal(repaired.report.consistent, true);
    assert.deepEqual(repaired.report.remaining, []);
    assert.equal(repaired.report.totals_after_repair!.memes, n - 2);
    const fixed = Object.fromEntries(repaired.report.repaired!.map((a) => [a.kind, a.fixed]));
    assert.equal(fixed.meme_without_object, 1);
    assert.equal(fixed.meme_without_vector, 1);
    assert.equal(fixed.meme_without_fts_row, 1);
    assert.equal(fixed.leftover_temp_file, 1);
    // The orphan plus the object of the meme that had no vector.
    assert.equal(fixed.object_without_meme, 2);
    // The dims-mismatched meme lost its vector in "second" only: a backfill gap, not an error.
    assert.deepEqual(Object.fromEntries(repaired.report.backfill.map((b) => [b.collection, b.missing])), { 'emomo-local': 0, second: 1 });

    const after = await runVerify(ws);
    assert.equal(after.code, 0);
    assert.equal(after.report.found, 0);
    assert.equal(after.report.totals.memes, n - 2);
    assert.equal(listObjects(ws.objects).length, n - 2);
    assert.equal(fs.existsSync(tmp), false);

    const check = openRaw(ws);
    assert.deepEqual(check.prepare('SELECT ocr_text, description, tags FROM memes_fts WHERE rowid = ?').get(noFts!.id), ftsBefore);
    // Descriptions are a paid cache: repair never deletes one.
    assert.equal((check.prepare('SELECT count(*) n FROM meme_descriptions').get() as { n: number }).n, n);
    check.close();

    // The removed memes come back on a re-ingest, without a new description.
    const describer = new FakeDescriber();
    const rerun = await runIngest(ws, { source: 'staging:sample' }, { describer, embedder: () => new FakeEmbedder(256) });
    assert.equal(rerun.summary.added, 2);
    assert.equal(describer.calls, 0);
    assert.equal((await runVerify(ws)).report.found, 0);
  });

  test('when every object is missing, repair refuses to remove the memes', async () => {
    fs.rmSync(ws.objects, { recursive: true });
    const { code, report } = await runVerify(ws, true);
    assert.equal(code, 1);
    assert.match(report.notes.join('\n'), /storage configured right/);
    assert.equal(counts(report.remaining!).meme_without_object, n);
    assert.equal(report.totals_after_repair!.memes, n);
  });
});
