/**
 * `npm run bench:recall:postgres -- --n 100000 --dims 1024 [--queries 100] [--clusters 300] [--explain]`
 *
 * Vector search on a PostgreSQL library, query embedding excluded: the same
 * n clustered unit vectors as `npm run bench:recall` (SQLite) writes, loaded
 * into a fresh database on the server named by EMOMO_TEST_PG_URL, then the
 * collection's HNSW index built (timed, with its size), then p50 / p95 of the
 * store's own `vectorSearch` through the index and exactly, with and without
 * a category filter (1 in 10 memes match), and recall@10 of the index path
 * against the exact search. The last line is one JSON object for the
 * unfiltered index path. Without EMOMO_TEST_PG_URL it says so and exits 0.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { RecallFilters } from '../src/store/ports.js';
import { vectorParam } from '../src/store/postgres/sql.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { RECALL_SESSION_SETTINGS } from '../src/store/postgres/recall-queries.js';
import { hnswIndexName, hnswIndexSql, pgVecTableName } from '../src/store/postgres/vector-tables.js';
import { createTestDatabase } from '../test/helpers/postgres.js';
import { clusteredVectors, measure, recallAt, round } from './vector-data.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    dims: { type: 'string', default: '1024' },
    queries: { type: 'string', default: '100' },
    clusters: { type: 'string', default: '300' },
    k: { type: 'string', default: '10' },
    'maintenance-work-mem': { type: 'string', default: '1GB' },
    explain: { type: 'boolean', default: false },
  },
});
const n = Number(values.n);
const dims = Number(values.dims);
const queries = Number(values.queries);
const k = Number(values.k);
const CATEGORIES = 10;
const ROWS_PER_INSERT = 250;

if (!process.env.EMOMO_TEST_PG_URL) {
  process.stderr.write('recall-postgres: skipped, EMOMO_TEST_PG_URL is not set (see docs/postgres.md)\n');
  process.exit(0);
}

const nearData = clusteredVectors(dims, Number(values.clusters));
const db = await createTestDatabase();
const store = new PostgresStore(db.url, { label: db.name });
// The same session settings as the store's own connections (for --explain).
const settings = Object.entries(RECALL_SESSION_SETTINGS).map(([name, value]) => `-c ${name}=${value}`);
const raw = new pg.Client({ connectionString: db.url, options: settings.join(' ') });
try {
  await store.ensureCollection('bench', dims, 'bench-clustered');
  await raw.connect();
  const coll = { name: 'bench', dims, model: 'bench-clustered', vec_table: pgVecTableName('bench') };
  // Bulk load first, index after: how a large library is best loaded, and what "build time" means.
  await raw.query(`DROP INDEX "${hnswIndexName(coll)}"`);
  let started = performance.now();
  await raw.query(
    `INSERT INTO memes (id, md5, source_type, source_id, storage_key, width, height, format, is_animated, file_size, category, tags)
     SELECT i, md5(i::text), 'bench', i::text, i::text, 1, 1, 'png', i % 5 = 0, 1, 'c' || (i % ${CATEGORIES}), '[]'
     FROM generate_series(1, $1::int) i`,
    [n],
  );
  for (let from = 1; from <= n; from += ROWS_PER_INSERT) {
    const params: unknown[] = [];
    const rows: string[] = [];
    for (let id = from; id < Math.min(n + 1, from + ROWS_PER_INSERT); id++) {
      params.push(id, vectorParam(nearData()));
      rows.push(`($${params.length - 1}, $${params.length}::vector)`);
    }
    await raw.query(`INSERT INTO "${coll.vec_table}" (meme_id, embedding) VALUES ${rows.join(', ')}`, params);
    if ((from - 1) % 100_000 === 0 && from > 1) process.stderr.write(`  ${from - 1} vectors written\n`);
  }
  await raw.query(`ANALYZE memes; ANALYZE "${coll.vec_table}"`);
  const writeSeconds = (performance.now() - started) / 1000;

  await raw.query(`SET maintenance_work_mem = '${values['maintenance-work-mem']}'`);
  started = performance.now();
  await raw.query(hnswIndexSql(coll));
  const indexSeconds = (performance.now() - started) / 1000;
  const { rows: sizes } = await raw.query<{ table: string; index: string; index_bytes: string }>(
    `SELECT pg_size_pretty(pg_total_relation_size($1::regclass) - pg_indexes_size($1::regclass)) AS table,
            pg_size_pretty(pg_relation_size($2::regclass)) AS index, pg_relation_size($2::regclass) AS index_bytes`,
    [`"${coll.vec_table}"`, `"${hnswIndexName(coll)}"`],
  );
  process.stderr.write(
    `wrote ${n} × ${dims}-d vectors in ${writeSeconds.toFixed(1)} s (table ${sizes[0]!.table}); ` +
      `HNSW index built in ${indexSeconds.toFixed(1)} s (maintenance_work_mem ${values['maintenance-work-mem']}), ${sizes[0]!.index}\n`,
  );

  const queryVectors = Array.from({ length: queries }, nearData);
  const none: RecallFilters = { tags: [] };
  const category: RecallFilters = { tags: [], category: 'c3' };
  const methods = new Set<string>();
  const measureSearch = (filters: RecallFilters, exact: boolean) =>
    measure(queryVectors, async (q) => {
      const found = await store.vectorSearch('bench', q, k, filters, { exact });
      methods.add(found.method);
      return found.hits.map((h) => h.memeId);
    });
  if (values.explain) {
    for (const where of ['', ` JOIN memes m ON m.id = v.meme_id WHERE m.category = 'c3'`]) {
      const q = `'[${Array.from(queryVectors[0]!).join(',')}]'`;
      const { rows } = await raw.query(
        `EXPLAIN ANALYZE SELECT v.meme_id FROM "${coll.vec_table}" v${where}
         ORDER BY v.embedding::halfvec(${dims}) <=> ${q}::vector::halfvec(${dims}) LIMIT 40`,
      );
      process.stderr.write(rows.map((r) => String(r['QUERY PLAN']).replace(/'\[[^\]]*\]'/g, "'[…]'")).join('\n') + '\n\n');
    }
  }
  const exact = await measureSearch(none, true);
  const index = await measureSearch(none, false);
  const exactCat = await measureSearch(category, true);
  const indexCat = await measureSearch(category, false);
  console.table([
    { search: 'exact float32 scan', filter: '-', p50_ms: round(exact.p50), p95_ms: round(exact.p95), recall_at_10: 1 },
    { search: 'HNSW (halfvec) + rescore', filter: '-', p50_ms: round(index.p50), p95_ms: round(index.p95), recall_at_10: round(recallAt(index.results, exact.results), 4) },
    { search: 'exact float32 scan', filter: 'category (1/10)', p50_ms: round(exactCat.p50), p95_ms: round(exactCat.p95), recall_at_10: 1 },
    { search: 'HNSW (halfvec) + rescore', filter: 'category (1/10)', p50_ms: round(indexCat.p50), p95_ms: round(indexCat.p95), recall_at_10: round(recallAt(indexCat.results, exactCat.results), 4) },
  ]);
  process.stderr.write(`methods used: ${[...methods].join(', ')}; filtered searches all returned k=${k}: ${indexCat.results.every((r) => r.length === k)}\n`);
  console.log(
    JSON.stringify({
      n, dims, p50_ms: round(index.p50), p95_ms: round(index.p95), recall_at_10: round(recallAt(index.results, exact.results), 4),
      index_build_s: round(indexSeconds, 1), index_mb: round(Number(sizes[0]!.index_bytes) / 2 ** 20, 0),
    }),
  );
} finally {
  await raw.end().catch(() => undefined);
  await store.close();
  await db.drop();
}
