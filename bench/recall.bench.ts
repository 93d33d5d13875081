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
import { seededRandom } from '../test/helpers/seeded-random.js';

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

// Deterministic: the same figures on every run.
const random = seededRandom(0x9e3779b9);
function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}
function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const norm = Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}
const centroids = Array.from({ length: clusters }, () => normalise(Float32Array.from({ length: dims }, gaussian)));
/** A point near the data: a centroid plus noise of about the same length. */
function nearData(): Float32Array {
  const c = centroids[Math.floor(random() * clusters)]!;
  const sigma = 1 / Math.sqrt(dims);
  return normalise(Float32Array.from(c, (x) => x + gaussian() * sigma));
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}
const round = (x: number, digits = 2) => Number(x.toFixed(digits));

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

function measure(filters: RecallFilters, options: VectorSearchOptions) {
  const times: number[] = [];
  const results: number[][] = [];
  // One warm-up query so the page cache holds the tables, as in a running service.
  index.vectorSearch(info, queryVectors[0]!, k, filters, options);
  for (const q of queryVectors) {
    const t = performance.now();
    const { hits } = index.vectorSearch(info, q, k, filters, options);
    times.push(performance.now() - t);
    results.push(hits.map((h) => h.memeId));
  }
  return { p50: percentile(times, 0.5), p95: percentile(times, 0.95), results };
}
function recallAt(approx: number[][], exact: number[][]): number {
  let found = 0;
  let total = 0;
  approx.forEach((ids, i) => {
    const truth = new Set(exact[i]);
    total += truth.size;
    found += ids.filter((id) => truth.has(id)).length;
  });
  return total ? found / total : 1;
}

const none: RecallFilters = { tags: [] };
const category: RecallFilters = { tags: [], category: 'c3' };
const fast = { exactBelow: 0 };
const rows: Array<Record<string, string | number>> = [];
const exact = measure(none, { exact: true });
const quick = measure(none, fast);
const exactCat = measure(category, { exact: true });
const quickCat = measure(category, fast);
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
