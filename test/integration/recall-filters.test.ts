/**
 * Filters on a larger synthetic library written through the store's own
 * commit path, on every store backend: every mode returns only matching
 * memes, and still k of them when at least k match — on the exact KNN, each
 * backend's approximate index (SQLite's partitioned index, PostgreSQL's HNSW
 * graph) and the keyword side. Also, on SQLite: the migration that builds the
 * partitioned index for an existing collection, and deletes reaching it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { PgPool } from '../../src/store/postgres/connection.js';
import { collectionInfo, EXACT_BELOW, RECALL_SESSION_SETTINGS, vectorSearch } from '../../src/store/postgres/recall-queries.js';
import { hnswIndexName } from '../../src/store/postgres/vector-tables.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { indexTables } from '../../src/store/sqlite/quantized-index.js';
import type { LibraryStore, RecallFilters } from '../../src/store/ports.js';
import { SqliteRecallQueries } from '../../src/store/sqlite/recall-queries.js';
import { deleteVector, listCollections } from '../../src/store/sqlite/vector-tables.js';
import { recallInProcess } from '../helpers/recall-json.js';
import { STORE_BACKENDS, type StoreBackend } from '../helpers/store-backends.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const N = 1200;
const DIMS = 64;
const CATEGORIES = ['熊猫头', '猫猫', '柴犬', '蘑菇头'];
const TAGS = ['开心', '无语', '搞笑', '工作', '难过', '加油'];

interface Made {
  id: number;
  md5: string;
  category: string;
  tags: string[];
  animated: boolean;
  sources: string[];
}

async function build(store: LibraryStore): Promise<Made[]> {
  await store.ensureCollection('emomo-local', DIMS, 'local-lexical-v1');
  const made: Made[] = [];
  for (let i = 0; i < N; i++) {
    const md5 = createHash('md5').update(`meme ${i}`).digest('hex');
    const category = CATEGORIES[i % CATEGORIES.length]!;
    const tags = TAGS.filter((_, t) => (i >> t) % 2 === 1 || t === i % TAGS.length);
    const animated = i % 3 === 0;
    const sourceType = i % 2 ? 'staging:one' : 'staging:two';
    const caption = `表情${i % 17} 共同 ${tags.join(' ')}`;
    // Dense vectors, as real embedding models give (the quantised index is for those), from the caption.
    const vector = dense(caption, i);
    const { memeId } = await store.commitItem({
      item: { sourceType, sourceId: `id${i}`, path: `/x/${i}.png`, category, tags },
      facts: { md5, format: 'png', ext: 'png', width: 10, height: 10, frames: animated ? 3 : 1, isAnimated: animated, fileSize: 100 },
      storageKey: `${md5.slice(0, 2)}/${md5}.png`,
      description: { ocrText: caption, description: `${category}表情包`, emotions: [] },
      descriptionKey: { md5, vlmModel: 'fake', promptVersion: '1' },
      collection: 'emomo-local',
      embeddingModel: 'local-lexical-v1',
      vector: vector!,
      replace: false,
    });
    const sources = [sourceType];
    if (i % 7 === 0) {
      await store.linkSource({ sourceType: 'dir:extra', sourceId: `e${i}`, path: '/e', category, tags }, memeId);
      sources.push('dir:extra');
    }
    made.push({ id: memeId, md5, category, tags, animated, sources });
  }
  return made;
}

/** A deterministic dense unit vector: a per-text direction plus a little per-meme noise. */
function dense(text: string, salt: number): Float32Array {
  const v = new Float32Array(DIMS);
  for (let i = 0; i < DIMS; i++) {
    const h = createHash('sha256').update(`${text}|${i}`).digest();
    const n = createHash('sha256').update(`${salt}|${i}`).digest();
    v[i] = (h.readInt16LE(0) / 32768) + 0.3 * (n.readInt16LE(0) / 32768);
  }
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

const matches = (m: Made, f: RecallFilters) =>
  f.tags.every((t) => m.tags.includes(t)) &&
  (f.category === undefined || m.category === f.category) &&
  (f.animated === undefined || m.animated === f.animated) &&
  (f.source === undefined || m.sources.includes(f.source));

const cases: Array<[string, RecallFilters]> = [
  ['one tag', { tags: ['无语'] }],
  ['two tags', { tags: ['开心', '工作'] }],
  ['category', { tags: [], category: '柴犬' }],
  ['animated', { tags: [], animated: true }],
  ['static', { tags: [], animated: false }],
  ['source (first seen)', { tags: [], source: 'staging:one' }],
  ['source (linked later)', { tags: [], source: 'dir:extra' }],
  ['everything at once', { tags: ['搞笑'], category: '猫猫', animated: false, source: 'staging:two' }],
  ['a tag nobody has', { tags: ['不存在'] }],
];

function recallFilters(backend: StoreBackend) {
  describe(`recall filters: ${backend.name}`, { skip: backend.unavailable }, () => {
    let ws: Workspace;
    let drop: () => Promise<void> = async () => undefined;
    let made: Made[];
    const byMd5 = new Map<string, Made>();

    before(async () => {
      ws = makeWorkspace('', `embeddings:\n  - name: local\n    provider: local\n    dimensions: ${DIMS}\n    collection: emomo-local\n`);
      drop = await backend.useIn(ws);
      const app = createApp({ configPath: ws.config });
      try {
        made = await build(app.store);
      } finally {
        await app.close();
      }
      for (const m of made) byMd5.set(m.md5, m);
    });
    after(async () => {
      await drop();
      ws?.cleanup();
    });

    for (const [name, filters] of cases) {
      test(`${name}: only matching memes, and k of them when ≥ k match (every mode)`, async () => {
        const expected = Math.min(10, made.filter((m) => matches(m, filters)).length);
        for (const mode of ['vector', 'keyword', 'hybrid'] as const) {
          const { code, json } = await recallInProcess(ws.config, '共同 开心', {
            mode,
            topK: 10,
            tag: filters.tags,
            category: filters.category,
            animated: filters.animated === true,
            static: filters.animated === false,
            source: filters.source,
          });
          assert.equal(code, 0);
          for (const r of json.results) assert.ok(matches(byMd5.get(r.md5)!, filters), `${mode}: ${JSON.stringify(r)}`);
          assert.equal(json.results.length, expected, `${mode} returned ${json.results.length}`);
        }
      });
    }

    if (backend.name === 'SQLite') sqliteIndexTests(() => ws, () => made);
    if (backend.name === 'PostgreSQL') postgresIndexTests(() => ws, () => made);
  });
}

/** The SQLite adapter's own quantised index, on the library the filter tests built. */
function sqliteIndexTests(workspace: () => Workspace, library: () => Made[]) {
  test('the quantised index applies the same filters in both passes and agrees with exact search', () => {
    const ws = workspace();
    const made = library();
    const db = openDatabase(ws.db);
    const index = new SqliteRecallQueries(db);
    const coll = index.collection('emomo-local')!;
    assert.equal(coll.fast, true);
    assert.equal(coll.size, N);
    const query = dense('表情3 共同 开心 搞笑', -1);
    let agree = 0;
    let total = 0;
    for (const [, filters] of cases) {
      const fast = index.vectorSearch(coll, query, 10, filters, { exactBelow: 0 });
      const exact = index.vectorSearch(coll, query, 10, filters, { exact: true });
      const want = Math.min(10, made.filter((m) => matches(m, filters)).length);
      assert.equal(fast.hits.length, want);
      const ids = new Map(made.map((m) => [m.id, m]));
      for (const h of fast.hits) assert.ok(matches(ids.get(h.memeId)!, filters));
      // Many synthetic memes share a caption (identical vectors), so compare by distance, not id:
      // a fast hit is right when it is as close as the exact hit of the same rank.
      exact.hits.forEach((h, j) => {
        total++;
        if (fast.hits[j] && Math.abs(fast.hits[j]!.distance - h.distance) < 1e-5) agree++;
      });
    }
    const unfiltered = index.vectorSearch(coll, query, 10, { tags: [] }, { exactBelow: 0 });
    assert.equal(unfiltered.method, 'quantized');
    assert.ok(agree / total >= 0.95, `recall@10 ${agree}/${total}`);
    db.close();
  });

  test('a migration builds the partitioned index for an existing collection; deletes reach it', () => {
    const ws = workspace();
    const made = library();
    let db = openDatabase(ws.db);
    const [coll] = listCollections(db);
    const t = indexTables(coll!.vec_table);
    const version = db.pragma('user_version', { simple: true }) as number;
    db.exec(`DROP TABLE "${t.ivf}"; DROP TABLE "${t.lists}"; DROP TABLE "${t.f32}"; DROP TABLE vector_index_state;`);
    db.pragma('user_version = 2'); // as a file written before the quantised index existed
    db.close();

    db = openDatabase(ws.db);
    assert.equal(db.pragma('user_version', { simple: true }), version);
    const count = (table: string) => db.prepare(`SELECT count(*) FROM "${table}"`).pluck().get() as number;
    assert.deepEqual([count(t.ivf), count(t.f32)], [N, N]);
    const index = new SqliteRecallQueries(db);
    const info = index.collection('emomo-local')!;
    const query = dense('表情5 共同 无语', -1);
    const fast = index.vectorSearch(info, query, 5, { tags: [] }, { exactBelow: 0 });
    const exact = index.vectorSearch(info, query, 5, { tags: [] }, { exact: true });
    assert.equal(fast.hits[0]!.memeId, exact.hits[0]!.memeId);
    assert.ok(Math.abs(fast.hits[0]!.distance - exact.hits[0]!.distance) < 1e-5);

    db.transaction(() => deleteVector(db, coll!, made[0]!.id))();
    assert.deepEqual([count(t.ivf), count(t.f32), count(coll!.vec_table)], [N - 1, N - 1, N - 1]);
    db.close();
  });
}

/** The PostgreSQL adapter's HNSW path, on the library the filter tests built. */
function postgresIndexTests(workspace: () => Workspace, library: () => Made[]) {
  test('the HNSW index serves every filter through iterative scans, returns k when k match and agrees with exact search', async () => {
    const made = library();
    // 1,200 rows are below the size the adapter sends through the index, and a planner would rather scan and sort
    // them: the collection is presented as a large one, and scans and sorts are off, as for a large collection.
    const settings = { ...RECALL_SESSION_SETTINGS, enable_seqscan: 'off', enable_sort: 'off' };
    const pool = new PgPool(loadConfig(workspace().config).database.url!, { size: 1, settings });
    try {
      const exactInfo = (await collectionInfo(pool, 'emomo-local'))!;
      const indexInfo = { ...exactInfo, size: EXACT_BELOW };
      const indexScans = async () => {
        await pool.query('SELECT pg_stat_force_next_flush()');
        await pool.query('SELECT 1');
        const { rows } = await pool.query<{ n: number }>('SELECT idx_scan AS n FROM pg_stat_user_indexes WHERE indexrelname = $1', [hnswIndexName(exactInfo)]);
        return rows[0]!.n;
      };
      const query = dense('表情3 共同 开心 搞笑', -1);
      const ids = new Map(made.map((m) => [m.id, m]));
      let agree = 0;
      let total = 0;
      const before = await indexScans();
      for (const [name, filters] of cases) {
        const viaIndex = await vectorSearch(pool, indexInfo, query, 10, filters);
        const exact = await vectorSearch(pool, exactInfo, query, 10, filters, { exact: true });
        const want = Math.min(10, made.filter((m) => matches(m, filters)).length);
        assert.equal(viaIndex.hits.length, want, name);
        assert.equal(viaIndex.method, want === 10 ? 'hnsw' : 'exact', name);
        for (const h of viaIndex.hits) assert.ok(matches(ids.get(h.memeId)!, filters), name);
        exact.hits.forEach((h, j) => {
          total++;
          if (viaIndex.hits[j] && Math.abs(viaIndex.hits[j]!.distance - h.distance) < 1e-5) agree++;
        });
      }
      assert.ok((await indexScans()) - before >= cases.length - 1, 'the searches went through the HNSW index');
      assert.ok(agree / total >= 0.95, `recall@10 ${agree}/${total}`);
    } finally {
      await pool.end();
    }
  });
}

for (const backend of STORE_BACKENDS) recallFilters(backend);
