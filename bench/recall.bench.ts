/**
 * `npm run bench:recall -- --n 100000 --dims 1024 [--queries 100] [--clusters 300] [--keep]`
 *
 * Vector search latency and quality, query embedding excluded. Writes n
 * unit vectors, clustered (random centroids plus gaussian noise, so sign-bit
 * quantisation meets realistic structure rather than uniform noise), through
 * the store's own vector writer into a temp database, then measures p50 / p95
 * of the quantised path and the exact KNN, with and without a category filter,
 * and recall@10 of the quantised path against exact search. The last line is
 * one JSON object for the unfiltered fast path.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../src/store/sqlite/database.js';
import type { RecallFilters } from '../src/store/ports.js';
import { SqliteRecallQueries, type VectorSearchOptions } from '../src/store/sqlite/recall-queries.js';
import { ensureVectorTable, insertVector } from '../src/store/sqlite/vector-tables.js';
import { clusteredVectors, measure, recallAt, round } from './vector-data.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    dims: { type: 'string', default: '1024' },
    queries: { type: 'string', default: '100' },
    clusters: { type: 'string', default: '300' },
    k: { type: 'string', default: '10' },
    keep: { type: 'boolean', default: false },
  },
});
const n = Number(values.n);
const dims = Number(values.dims);
const queries = Number(values.queries);
const clusters = Number(values.clusters);
const k = Number(values.k);
const CATEGORIES = 10;

// Deterministic: the same figures on every run (and the same vectors as bench/recall-postgres.bench.ts).
const nearData = clusteredVectors(dims, clusters);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-recall-bench-'));
const db = openDatabase(path.join(dir, 'bench.db'));
const coll = ensureVectorTable(db, 'bench', dims, 'bench-random');

const started = performance.now();
const batch = db.transaction((from: number, to: number) => {
  for (let id = from; id < to; id++) {
    insertVector(db, coll, id, nearData(), { category: `c${id % CATEGORIES}`, isAnimated: id % 5 === 0, source: 'bench' });
  }
});
for (let from = 1; from <= n; from += 5000) {
  batch(from, Math.min(n + 1, from + 5000));
  if (from % 100_000 === 1 && from > 1) process.stderr.write(`  ${from - 1} vectors written\n`);
}
const writeSeconds = (performance.now() - started) / 1000;
const dbBytes = fs.readdirSync(dir).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
process.stderr.write(
  `wrote ${n} × ${dims}-d clustered vectors (${clusters} clusters) in ${writeSeconds.toFixed(1)} s; database ${(dbBytes / 2 ** 20).toFixed(0)} MiB\n`,
);

const index = new SqliteRecallQueries(db);
const info = index.collection('bench')!;
const queryVectors = Array.from({ length: queries }, nearData);

const measureSearch = (filters: RecallFilters, options: VectorSearchOptions) =>
  measure(queryVectors, (q) => index.vectorSearch(info, q, k, filters, options).hits.map((h) => h.memeId));

const none: RecallFilters = { tags: [] };
const category: RecallFilters = { tags: [], category: 'c3' };
const fast = { exactBelow: 0 };
const rows: Array<Record<string, string | number>> = [];
const exact = await measureSearch(none, { exact: true });
const quick = await measureSearch(none, fast);
const exactCat = await measureSearch(category, { exact: true });
const quickCat = await measureSearch(category, fast);
rows.push({ search: 'exact float32 KNN', filter: '-', p50_ms: round(exact.p50), p95_ms: round(exact.p95), recall_at_10: 1 });
rows.push({ search: 'quantised + rescore', filter: '-', p50_ms: round(quick.p50), p95_ms: round(quick.p95), recall_at_10: round(recallAt(quick.results, exact.results), 4) });
rows.push({ search: 'exact float32 KNN', filter: 'category (1/10)', p50_ms: round(exactCat.p50), p95_ms: round(exactCat.p95), recall_at_10: 1 });
rows.push({ search: 'quantised + rescore', filter: 'category (1/10)', p50_ms: round(quickCat.p50), p95_ms: round(quickCat.p95), recall_at_10: round(recallAt(quickCat.results, exactCat.results), 4) });
const fullK = quickCat.results.every((r) => r.length === k);
console.table(rows);
process.stderr.write(`filtered searches all returned k=${k}: ${fullK}\n`);

db.close();
if (!values.keep) fs.rmSync(dir, { recursive: true, force: true });
else process.stderr.write(`kept ${dir}\n`);
console.log(
  JSON.stringify({ n, dims, p50_ms: round(quick.p50), p95_ms: round(quick.p95), recall_at_10: round(recallAt(quick.results, exact.results), 4) }),
);
