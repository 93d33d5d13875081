/**
 * `emomo purge --source S` on a library where two sources share images: the
 * shared images keep their object, description and vectors (now under the
 * other source); everything only S brought goes; a dry run changes nothing;
 * a purge killed after its commit leaves its deletes recorded, and the next
 * purge finishes them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { issueCounts, runPurge as purgeSource, runVerify } from '../helpers/maintenance.js';
import { buildTwoSources } from '../helpers/two-sources.js';
import { listObjects, makeWorkspace, type Workspace } from '../helpers/workspace.js';

const runPurge = (ws: Workspace, flags: { yes?: boolean; dryRun?: boolean }) => purgeSource(ws, { source: 'staging:a', yes: false, ...flags });

/** Every row of every table (vectors as hex) plus every object's bytes: equal snapshots mean nothing changed. */
function snapshot(ws: Workspace): string {
  const db = new Database(ws.db, { readonly: true });
  sqliteVec.load(db);
  const hash = createHash('sha256');
  const tables = ['memes', 'meme_sources', 'meme_descriptions', 'meme_vectors', 'collections', 'jobs'];
  for (const t of tables) hash.update(JSON.stringify(db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()));
  hash.update(JSON.stringify(db.prepare('SELECT rowid, * FROM memes_fts ORDER BY rowid').all()));
  for (const { vec_table } of db.prepare('SELECT vec_table FROM collections').all() as Array<{ vec_table: string }>) {
    hash.update(JSON.stringify(db.prepare(`SELECT meme_id, hex(embedding) e, source FROM "${vec_table}" ORDER BY meme_id`).all()));
  }
  db.close();
  for (const key of listObjects(ws.objects).sort()) hash.update(key).update(fs.readFileSync(path.join(ws.objects, key)));
  return hash.digest('hex');
}

describe('purge', () => {
  let ws: Workspace;
  beforeEach(async () => {
    ws = makeWorkspace();
    await buildTwoSources(ws);
    const db = new Database(ws.db);
    const job = db.prepare(
      `INSERT INTO jobs (idempotency_key, source_type, source_id, collection, stage, reason, status) VALUES (?, ?, ?, 'emomo-local', 'describe', 'boom', 'failed')`,
    );
    job.run('ka', 'staging:a', 'x1');
    job.run('kb', 'staging:b', 'x2');
    db.close();
  });
  afterEach(() => ws.cleanup());

  test('without --yes it is a dry run (as staging clean is) and changes nothing', async () => {
    const before = snapshot(ws);
    const { code, report } = await runPurge(ws, {});
    assert.equal(code, 0);
    assert.equal(report.memes_removed, 3);
    assert.equal(snapshot(ws), before);
  });

  test('--dry-run reports what would go and changes nothing', async () => {
    const before = snapshot(ws);
    const { code, report } = await runPurge(ws, { dryRun: true });
    assert.equal(code, 0);
    assert.equal(snapshot(ws), before);
    assert.deepEqual(
      [report.source_links, report.memes_removed, report.memes_kept, report.primary_source_moved],
      [6, 3, 3, 3],
    );
    // Removed memes 1-3 had vectors in both collections; their descriptions and objects go too.
    assert.deepEqual([report.vectors, report.fts_rows, report.descriptions, report.objects, report.jobs], [6, 3, 3, 3, 1]);
    assert.equal(report.examples.removed.length, 3);
    assert.match(report.examples.kept[0]!, /also from staging:b/);
  });

  test('removes only what source a alone brought; shared images stay under source b', async () => {
    const raw = new Database(ws.db, { readonly: true });
    sqliteVec.load(raw);
    const md5s = (sql: string) => (raw.prepare(sql).pluck().all() as string[]).sort();
    const onlyA = md5s(`SELECT m.md5 FROM memes m WHERE NOT EXISTS (SELECT 1 FROM meme_sources s WHERE s.meme_id = m.id AND s.source_type = 'staging:b')`);
    const shared = md5s(`SELECT m.md5 FROM memes m WHERE m.source_type = 'staging:a' AND EXISTS (SELECT 1 FROM meme_sources s WHERE s.meme_id = m.id AND s.source_type = 'staging:b')`);
    const sharedIds = raw.prepare(`SELECT id FROM memes WHERE md5 IN (${shared.map(() => '?').join(',')})`).pluck().all(...shared) as number[];
    const vecBefore = raw.prepare(`SELECT meme_id, hex(embedding) e FROM vec_second ORDER BY meme_id`).all();
    raw.close();
    assert.equal(onlyA.length, 3);
    assert.equal(shared.length, 3);

    const { code, report } = await runPurge(ws, { yes: true });
    assert.equal(code, 0);
    assert.deepEqual([report.memes_removed, report.memes_kept, report.objects_deleted, report.objects_failed], [3, 3, 3, 0]);

    const db = new Database(ws.db, { readonly: true });
    sqliteVec.load(db);
    const all = (sql: string) => db.prepare(sql).pluck().all() as unknown[];
    assert.deepEqual(all("SELECT count(*) FROM meme_sources WHERE source_type = 'staging:a'"), [0]);
    assert.deepEqual(all("SELECT count(*) FROM jobs WHERE source_type = 'staging:a'"), [0]);
    assert.deepEqual(all("SELECT count(*) FROM jobs WHERE source_type = 'staging:b'"), [1]);
    const left = (all('SELECT md5 FROM memes') as string[]).sort();
    assert.equal(left.length, 5);
    for (const md5 of onlyA) assert.ok(!left.includes(md5));
    for (const md5 of shared) assert.ok(left.includes(md5));
    // Shared images keep their description and object; source a's own ones lose both.
    const described = new Set(all('SELECT md5 FROM meme_descriptions') as string[]);
    for (const md5 of shared) assert.ok(described.has(md5));
    for (const md5 of onlyA) assert.ok(!described.has(md5));
    const objects = listObjects(ws.objects).map((k) => path.basename(k).split('.')[0]!);
    assert.deepEqual(objects.sort(), left);
    // The shared memes now name source b as their source, in the row and in the vector filter metadata,
    // and their vectors are the same vectors.
    assert.deepEqual(
      all(`SELECT DISTINCT source_type FROM memes WHERE id IN (${sharedIds.join(',')})`),
      ['staging:b'],
    );
    for (const table of ['vec_emomo_dlocal', 'vec_second']) {
      assert.deepEqual(all(`SELECT DISTINCT source FROM "${table}" WHERE meme_id IN (${sharedIds.join(',')})`), ['staging:b']);
    }
    const vecAfter = db.prepare(`SELECT meme_id, hex(embedding) e FROM vec_second ORDER BY meme_id`).all();
    assert.deepEqual(vecAfter, (vecBefore as Array<{ meme_id: number }>).filter((v) => sharedIds.includes(v.meme_id)));
    assert.deepEqual(all('SELECT count(*) FROM memes_fts'), [5]);
    db.close();

    // The library is consistent afterwards.
    const verified = await runVerify(ws);
    assert.equal(verified.code, 0, verified.text);
  });

  /** What a purge killed right after its transaction leaves: rows gone, deletes recorded, objects still there. */
  async function purgeKilledAfterCommit(): Promise<void> {
    const store = new SqliteStore(ws.db);
    const counts = await store.applyPurge('staging:a', 0);
    await store.close();
    assert.equal(counts.objects, 3);
    assert.equal(listObjects(ws.objects).length, 8);
    assert.deepEqual(issueCounts((await runVerify(ws)).report.issues), { object_without_meme: 3 });
  }

  test('a purge killed after its commit: the next purge finishes its object deletes', async () => {
    await purgeKilledAfterCommit();
    const { code, report } = await runPurge(ws, { yes: true });
    assert.equal(code, 0);
    assert.deepEqual([report.memes_removed, report.objects, report.objects_deleted], [0, 0, 3]);
    assert.equal(listObjects(ws.objects).length, 5);
    assert.equal((await runVerify(ws)).code, 0);
  });

  test('a purge killed after its commit: verify --repair finishes its object deletes too', async () => {
    await purgeKilledAfterCommit();
    const repaired = await runVerify(ws, { repair: true });
    assert.equal(repaired.code, 0, repaired.text);
    assert.equal(repaired.report.repaired!.find((a) => a.kind === 'object_without_meme')?.fixed, 3);
    assert.equal(listObjects(ws.objects).length, 5);
    assert.equal((await runPurge(ws, { yes: true })).report.objects_deleted, 0, 'nothing left recorded');
  });
});
