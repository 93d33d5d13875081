/**
 * The partitioned vector index of the SQLite store (quantized-index.ts) on the
 * sample set, ingested through the real pipeline: small collections are
 * searched exactly; after memes are inserted (splitting lists) and deleted
 * (emptying them) the index holds exactly the stored vectors, so a search
 * through it returns the same top-k as exact search; verify reports an index
 * out of step and `--repair` rebuilds it without removing anything.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { RecallFilters } from '../../src/store/ports.js';
import { openDatabase, type Db } from '../../src/store/sqlite/database.js';
import { indexTables } from '../../src/store/sqlite/quantized-index.js';
import { EXACT_BELOW, SqliteRecallQueries, type VectorSearchOptions } from '../../src/store/sqlite/recall-queries.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { blobVector } from '../../src/store/sqlite/vector-blobs.js';
import { vecTableName } from '../../src/store/sqlite/vector-tables.js';
import { FakeDescriber } from '../helpers/fakes.js';
import { libraryCounts } from '../helpers/library.js';
import { issueCounts, runPurge, runVerify } from '../helpers/maintenance.js';
import { runIngest } from '../helpers/run-ingest.js';
import { copySample, makeWorkspace, type Workspace } from '../helpers/workspace.js';

const COLLECTION = 'emomo-local';
const tables = indexTables(vecTableName(COLLECTION));
const filters: Array<[string, RecallFilters]> = [
  ['no filter', { tags: [] }],
  ['category', { tags: [], category: '猫猫' }],
  ['static', { tags: [], animated: false }],
];

/** Stages sample items from..to (1-based, inclusive) as staging:<id>. */
function stage(ws: Workspace, id: string, from: number, to: number): void {
  copySample(ws, id);
  const manifest = path.join(ws.staging, id, 'manifest.jsonl');
  const lines = fs.readFileSync(manifest, 'utf8').split('\n').filter(Boolean).slice(from - 1, to);
  fs.writeFileSync(manifest, lines.join('\n') + '\n');
}

async function ingest(ws: Workspace, source: string, force = false): Promise<void> {
  const run = await runIngest(ws, { source, force }, { describer: new FakeDescriber() });
  assert.equal(run.code, 0, run.log);
}

/** Every stored vector of the collection: the queries (each one's own meme is its exact nearest). */
function storedVectors(db: Db): Float32Array[] {
  return (db.prepare(`SELECT embedding FROM "${tables.f32}" ORDER BY meme_id`).pluck().all() as Buffer[]).map(blobVector);
}

/** The fast path against exact search (the same top-k, up to memes tied at a distance), for every stored vector as query and every filter. */
function compareWithExact(db: Db, options: VectorSearchOptions, k = 5): { searched: number; methods: Set<string> } {
  const index = new SqliteRecallQueries(db);
  const coll = index.collection(COLLECTION)!;
  const methods = new Set<string>();
  let searched = 0;
  for (const query of storedVectors(db)) {
    for (const [name, f] of filters) {
      const fast = index.vectorSearch(coll, query, k, f, options);
      // A few more exact hits, so memes tied at the k-th distance are all there.
      const exact = index.vectorSearch(coll, query, k + 5, f, { exact: true }).hits;
      methods.add(fast.method);
      assert.equal(fast.hits.length, Math.min(k, exact.length), name);
      fast.hits.forEach((h, i) => {
        // Same distance at every rank; the meme is the exact search's, or one tied with it.
        assert.ok(Math.abs(h.distance - exact[i]!.distance) < 1e-5, `${name}: rank ${i}`);
        const same = exact.find((e) => e.memeId === h.memeId);
        assert.ok(same && Math.abs(same.distance - h.distance) < 1e-5, `${name}: meme ${h.memeId}`);
      });
      searched++;
    }
  }
  return { searched, methods };
}

const everyList = (db: Db): VectorSearchOptions => ({
  exactBelow: 0,
  probes: db.prepare(`SELECT count(*) FROM "${tables.lists}"`).pluck().get() as number,
  depth: 1_000,
});
const setListCap = (db: Db, cap: number) =>
  db.prepare('UPDATE vector_index_state SET list_cap = ? WHERE vec_table = ?').run(cap, vecTableName(COLLECTION));
const listCount = (db: Db) => db.prepare(`SELECT count(*) FROM "${tables.lists}"`).pluck().get() as number;

describe('the partitioned vector index', () => {
  let ws: Workspace;
  let db: Db | undefined;
  beforeEach(() => {
    ws = makeWorkspace();
  });
  afterEach(() => {
    db?.close();
    db = undefined;
    ws.cleanup();
  });

  test('small collections are searched exactly, and a fast search over one small list is exact too', async () => {
    copySample(ws);
    await ingest(ws, 'staging:sample');
    const store = new SqliteStore(ws.db);
    const info = (await store.collectionInfo(COLLECTION))!;
    assert.ok(info.size < EXACT_BELOW);
    db = openDatabase(ws.db);
    for (const query of storedVectors(db).slice(0, 10)) {
      const plain = await store.vectorSearch(COLLECTION, query, 5, { tags: [] });
      const exact = await store.vectorSearch(COLLECTION, query, 5, { tags: [] }, { exact: true });
      assert.equal(plain.method, 'exact');
      assert.deepEqual(plain.hits, exact.hits);
    }
    await store.close();
    // Forced through the index with its default tuning: one list, every candidate rescored.
    assert.equal(listCount(db), 1);
    const { searched, methods } = compareWithExact(db, { exactBelow: 0 });
    assert.deepEqual([searched, [...methods]], [48 * filters.length, ['quantized']]);
  });

  test('after inserts that split lists and deletes that empty them, the index returns the same top-k as exact search', async () => {
    stage(ws, 'a', 1, 24);
    stage(ws, 'b', 25, 48);
    await ingest(ws, 'staging:a');
    db = openDatabase(ws.db);
    setListCap(db, 4); // lists of at most 4: the sample set makes many, split as memes arrive
    await ingest(ws, 'staging:b');
    const grown = listCount(db);
    assert.ok(grown >= 12, `${grown} lists`);
    compareWithExact(db, everyList(db));

    // Deletes (purge) and replacements (ingest --force re-embeds: delete + insert).
    assert.equal((await runPurge(ws, { source: 'staging:a' })).code, 0);
    await ingest(ws, 'staging:b', true);
    assert.equal(libraryCounts(ws, ['vec']).vec, 24);
    const sizes = db.prepare(`SELECT sum(size), count(*), min(size) FROM "${tables.lists}"`).raw().get() as number[];
    assert.deepEqual(sizes.slice(0, 1), [24]);
    assert.ok(sizes[2]! >= 1, 'no empty list is kept');
    assert.equal(db.prepare(`SELECT count(*) FROM "${tables.ivf}"`).pluck().get(), 24);
    compareWithExact(db, everyList(db));

    const check = await runVerify(ws);
    assert.deepEqual([check.code, check.report.found], [0, 0], check.text);
  });

  test('verify reports an index out of step; --repair rebuilds the entries and a drifted index, removing nothing', async () => {
    copySample(ws);
    await ingest(ws, 'staging:sample');
    db = openDatabase(ws.db);
    const [gone1, gone2] = db.prepare(`SELECT meme_id FROM "${tables.ivf}" ORDER BY meme_id LIMIT 2`).pluck().all() as number[];
    // Behind the port: two vectors dropped from the index, a stray float copy, a list miscounted.
    db.prepare(`DELETE FROM "${tables.ivf}" WHERE meme_id IN (?, ?)`).run(gone1, gone2);
    db.prepare(`INSERT INTO "${tables.f32}" (meme_id, embedding) VALUES (9999, zeroblob(1024))`).run();
    const missing = storedVectors(db)[0]!;
    const fast = new SqliteRecallQueries(db);
    const before = fast.vectorSearch(fast.collection(COLLECTION)!, missing, 5, { tags: [] }, { exactBelow: 0 });
    assert.ok(!before.hits.some((h) => h.memeId === gone1), 'a vector missing from the index cannot be found through it');

    const found = await runVerify(ws, { examples: 10 });
    assert.equal(found.code, 1);
    assert.deepEqual(issueCounts(found.report.issues), { vector_index_out_of_step: 4 });
    const examples = found.report.issues[0]!.examples.join('\n');
    assert.match(examples, new RegExp(`meme ${gone1}, vector missing from the index`));
    assert.match(examples, /meme 9999, index entry without a vector/);
    assert.match(examples, /list 1 counts 48 vectors but holds 46/);

    const counted = () => libraryCounts(ws, ['memes', 'vectors', 'vec', 'descriptions', 'objects']);
    const library = counted();
    const repaired = await runVerify(ws, { repair: true });
    assert.equal(repaired.code, 0, repaired.text);
    assert.deepEqual(repaired.report.repaired!.map((a) => [a.kind, a.fixed]), [['vector_index_out_of_step', 4]]);
    assert.deepEqual(counted(), library, 'nothing removed');
    compareWithExact(db, { exactBelow: 0 });

    // Partitions drifted: many lists for few vectors (as deletes leave them). Repair rebuilds the index whole.
    setListCap(db, 2);
    db.transaction(() => db!.exec(`DELETE FROM "${tables.lists}"; DELETE FROM "${tables.ivf}";`))();
    db.prepare('UPDATE vector_index_state SET generation = random()').run();
    assert.equal((await runVerify(ws, { repair: true })).code, 0); // re-indexes all 48 into lists of 2
    assert.ok(listCount(db) >= 24);
    setListCap(db, 2_000);
    const drifted = await runVerify(ws);
    assert.match(drifted.report.issues[0]?.examples[0] ?? '', /lists left mostly empty by deletes \(\d+ lists for 48 vectors\)/);
    const rebuilt = await runVerify(ws, { repair: true });
    assert.equal(rebuilt.code, 0, rebuilt.text);
    assert.equal(listCount(db), 1);
    compareWithExact(db, { exactBelow: 0 });
    assert.deepEqual(counted(), library, 'nothing removed');
  });
});
