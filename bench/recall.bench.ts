/**
 * `npm run bench:recall -- --n 100000 --dims 1024 [--queries 100] [--clusters 300]
 *   [--fresh] [--rebuild] [--updates 1000] [--sweep]`
 *
 * Vector search latency and quality, query embedding excluded. Writes n unit
 * vectors, clustered (random centroids plus gaussian noise, so sign-bit
 * quantisation meets realistic structure rather than uniform noise), through
 * the store's own vector writer (`insertVector`, which keeps the partitioned
 * index as it goes), then measures p50 / p95 of the fast path and the exact
 * KNN, with and without a category filter (1 in 10), and recall@10 of the
 * fast path against exact search.
 *
 * The library is kept in bench/out/ (1M × 1024-d is ~9 GB and takes a while
 * to write) with the queries and the exact answers; `--fresh` writes it again.
 * Searches run in a process of their own, so the peak RSS reported is a
 * searching process's. `--rebuild` times a full index rebuild first (and
 * keeps it); `--updates N` times N inserts and N deletes, one transaction
 * each, rolled back after; `--sweep` measures other probe and depth settings.
 * The last line is one JSON object for the unfiltered fast path.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { RecallFilters } from '../src/store/ports.js';
import { openDatabase } from '../src/store/sqlite/database.js';
import { indexTables, rebuildIndex } from '../src/store/sqlite/quantized-index.js';
import { SqliteRecallQueries, type VectorSearchOptions } from '../src/store/sqlite/recall-queries.js';
import { deleteVector, ensureVectorTable, insertVector, listCollections } from '../src/store/sqlite/vector-tables.js';
import { clusteredVectors, measure, recallAt, round } from './vector-data.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    dims: { type: 'string', default: '1024' },
    queries: { type: 'string', default: '100' },
    clusters: { type: 'string', default: '300' },
    k: { type: 'string', default: '10' },
    fresh: { type: 'boolean', default: false },
    rebuild: { type: 'boolean', default: false },
    updates: { type: 'string', default: '0' },
    sweep: { type: 'boolean', default: false },
    search: { type: 'boolean', default: false }, // internal: the measuring child process
  },
});
const n = Number(values.n);
const dims = Number(values.dims);
const queries = Number(values.queries);
const clusters = Number(values.clusters);
const k = Number(values.k);
const CATEGORIES = 10;
const meta = (id: number) => ({ category: `c${id % CATEGORIES}`, isAnimated: id % 5 === 0, source: 'bench' });

const outDir = path.join(import.meta.dirname, 'out');
const file = path.join(outDir, `recall-${n}x${dims}-${clusters}c.db`);
interface Cache {
  writeSeconds: number;
  /** Vectors written in writeSeconds (fewer than n when the run went on from an interrupted one). */
  written?: number;
  queries: string[];
  exact?: Record<string, { p50: number; p95: number; results: number[][] }>;
}
const cacheFile = `${file}.json`;
const readCache = () => JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as Cache;
const writeCache = (c: Cache) => fs.writeFileSync(cacheFile, JSON.stringify(c));
const dbBytes = () => fs.readdirSync(outDir).filter((f) => f.startsWith(path.basename(file))).reduce((s, f) => s + fs.statSync(path.join(outDir, f)).size, 0);

if (!values.search) {
  if (values.fresh || !fs.existsSync(cacheFile)) build(values.fresh);
  // The searches run in a fresh process: its peak RSS is a searching process's, not the writer's.
  const args = process.argv.slice(2).filter((a) => a !== '--fresh');
  execFileSync(process.execPath, [...process.execArgv, import.meta.filename, ...args, '--search'], { stdio: 'inherit' });
  process.exit(0);
}

/** Writes the library, or goes on with one an interrupted run left (whole batches of 5000 are committed). */
function build(fresh: boolean): void {
  fs.mkdirSync(outDir, { recursive: true });
  if (fresh) for (const f of fs.readdirSync(outDir)) if (f.startsWith(path.basename(file))) fs.rmSync(path.join(outDir, f));
  const db = openDatabase(file);
  const coll = ensureVectorTable(db, 'bench', dims, 'bench-random');
  // Counted in the rescoring table: a vec0 table has no index to answer max() without a scan.
  const written = db.prepare(`SELECT ifnull(max(meme_id), 0) FROM "${indexTables(coll.vec_table).f32}"`).pluck().get() as number;
  const nearData = clusteredVectors(dims, clusters, written); // the same sequence as an uninterrupted run
  if (written > 0) process.stderr.write(`  going on after the ${written} vectors an earlier run wrote\n`);
  const started = performance.now();
  const batch = db.transaction((from: number, to: number) => {
    for (let id = from; id < to; id++) insertVector(db, coll, id, nearData(), meta(id));
  });
  for (let from = written + 1; from <= n; from += 5000) {
    batch(from, Math.min(n + 1, from + 5000));
    if (Math.floor((from - 1) / 100_000) !== Math.floor((from + 4999) / 100_000)) process.stderr.write(`  ${Math.min(n, from + 4999)} vectors written (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  }
  const writeSeconds = (performance.now() - started) / 1000;
  const qs = Array.from({ length: queries }, () => Buffer.from(nearData().buffer).toString('base64'));
  db.close();
  writeCache({ writeSeconds, written: n - written, queries: qs });
  process.stderr.write(`wrote ${n - written} × ${dims}-d clustered vectors (${clusters} clusters) and their index in ${writeSeconds.toFixed(1)} s\n`);
}

const cache = readCache();
// Only --rebuild and --updates write (updates are rolled back): otherwise the library is opened read-only.
const db = openDatabase(file, { readonly: !values.rebuild && Number(values.updates) === 0 });
const coll = listCollections(db).find((c) => c.name === 'bench')!;
process.stderr.write(
  `library: ${n} × ${dims}-d in ${file} (${(dbBytes() / 2 ** 30).toFixed(2)} GiB), ${cache.written ?? n} written with their index in ${cache.writeSeconds.toFixed(0)} s\n`,
);
if (values.rebuild) {
  const t = performance.now();
  const cpu = process.cpuUsage();
  const built = db.transaction(() => rebuildIndex(db, coll.vec_table, dims)).immediate();
  const { user, system } = process.cpuUsage(cpu);
  process.stderr.write(
    `index rebuilt: ${built.vectors} vectors in ${built.lists} lists, ${((performance.now() - t) / 1000).toFixed(1)} s (CPU ${((user + system) / 1e6).toFixed(1)} s)\n`,
  );
}

const index = new SqliteRecallQueries(db);
const info = index.collection('bench')!;
const queryVectors = cache.queries.slice(0, queries).map((b) => new Float32Array(new Uint8Array(Buffer.from(b, 'base64')).buffer));
const lists = db.prepare(`SELECT count(*) FROM "${coll.vec_table}_lists"`).pluck().get() as number;
const search = (filters: RecallFilters, options: VectorSearchOptions) =>
  measure(queryVectors, (q) => index.vectorSearch(info, q, k, filters, options).hits.map((h) => h.memeId));

const none: RecallFilters = { tags: [] };
const category: RecallFilters = { tags: [], category: 'c3' };
const fast = { exactBelow: 0 };

// Cold: the first search of a process loads the centroids.
let t = performance.now();
index.vectorSearch(info, queryVectors[0]!, k, none, fast);
const coldMs = performance.now() - t;
const readBefore = diskReads();
const quick = await search(none, fast);
const quickCat = await search(category, fast);
const diskPerSearch = readBefore < 0 ? -1 : (diskReads() - readBefore) / (2 * (queryVectors.length + 1));
const rssMb = process.memoryUsage().rss / 2 ** 20;
const peakMb = process.resourceUsage().maxRSS / 1024;

const exactKey = (name: string) => `${name}:${queries}:${k}`;
const exactFor = async (name: string, filters: RecallFilters) => {
  cache.exact ??= {};
  cache.exact[exactKey(name)] ??= await search(filters, { exact: true });
  return cache.exact[exactKey(name)]!;
};
const exact = await exactFor('none', none);
const exactCat = await exactFor('category', category);
writeCache(cache);

const rows: Array<Record<string, string | number>> = [
  { search: 'exact float32 KNN', filter: '-', p50_ms: round(exact.p50), p95_ms: round(exact.p95), recall_at_10: 1 },
  { search: 'partitioned + rescore', filter: '-', p50_ms: round(quick.p50), p95_ms: round(quick.p95), recall_at_10: round(recallAt(quick.results, exact.results), 4), cpu_p50_ms: round(quick.cpuP50) },
  { search: 'exact float32 KNN', filter: 'category (1/10)', p50_ms: round(exactCat.p50), p95_ms: round(exactCat.p95), recall_at_10: 1 },
  { search: 'partitioned + rescore', filter: 'category (1/10)', p50_ms: round(quickCat.p50), p95_ms: round(quickCat.p95), recall_at_10: round(recallAt(quickCat.results, exactCat.results), 4), cpu_p50_ms: round(quickCat.cpuP50) },
];
console.table(rows);
process.stderr.write(`filtered searches all returned k=${k}: ${quickCat.results.every((r) => r.length === k)}\n`);
process.stderr.write(`${lists} lists; first search of the process ${coldMs.toFixed(1)} ms; RSS ${rssMb.toFixed(0)} MB (peak ${peakMb.toFixed(0)} MB) after the fast searches\n`);
if (diskPerSearch >= 0) process.stderr.write(`read from disk (not the page cache): ${(diskPerSearch / 2 ** 20).toFixed(2)} MiB per fast search\n`);

if (values.sweep) {
  const sweep: Array<Record<string, number>> = [];
  for (const probes of [8, 16, 32, 64]) {
    for (const depth of [320, 1000, 2000, 4000]) {
      const r = await search(none, { ...fast, probes, depth });
      const rc = await search(category, { ...fast, probes, depth });
      sweep.push({
        probes,
        depth,
        p50_ms: round(r.p50),
        recall_at_10: round(recallAt(r.results, exact.results), 4),
        category_p50_ms: round(rc.p50),
        category_recall: round(recallAt(rc.results, exactCat.results), 4),
      });
    }
  }
  console.table(sweep);
}

const updates = Number(values.updates);
if (updates > 0) {
  const more = clusteredVectors(dims, clusters);
  const fresh = Array.from({ length: updates }, more);
  const ids = fresh.map((_, i) => n + 1 + i);
  db.exec('BEGIN');
  t = performance.now();
  ids.forEach((id, i) => db.transaction(() => insertVector(db, coll, id, fresh[i]!, meta(id)))());
  const insertMs = (performance.now() - t) / updates;
  t = performance.now();
  for (const id of ids) db.transaction(() => deleteVector(db, coll, id))();
  const deleteMs = (performance.now() - t) / updates;
  db.exec('ROLLBACK');
  process.stderr.write(`update cost: ${insertMs.toFixed(2)} ms per insert, ${deleteMs.toFixed(2)} ms per delete (vec0 + index, ${updates} each)\n`);
}

db.close();
console.log(JSON.stringify({ n, dims, p50_ms: round(quick.p50), p95_ms: round(quick.p95), recall_at_10: round(recallAt(quick.results, exact.results), 4) }));

/** Bytes this process has read from the disk itself (Linux), or -1: pages found in the page cache are not counted. */
function diskReads(): number {
  try {
    return Number(/read_bytes: (\d+)/.exec(fs.readFileSync('/proc/self/io', 'utf8'))?.[1] ?? -1);
  } catch {
    return -1;
  }
}
