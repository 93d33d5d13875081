/**
 * The coarse pass of vector recall through the partitioned index
 * (quantized-index.ts): rank the lists by their centroids, read the sign bits
 * of the nearest lists' vectors that pass the filters, and keep the `depth`
 * whose estimated dot product with the float query is largest for exact
 * float32 rescoring. On large collections (defaultPlan) the estimate is a
 * weighted sum of Hamming distances to the query's two sign planes
 * (partitions.ts `signPlanes`), computed inside SQLite: it ranks the true
 * neighbours higher than the Hamming distance between sign bits alone, so
 * fewer candidates, each a random read of a float32 vector, keep the recall
 * (at 1M × 1024-d, 1,000 candidates: recall@10 0.966 against 0.902;
 * BENCHMARKS.md). When the probed lists hold fewer than `depth` matching
 * vectors (a selective filter, lists emptied by deletes), the next lists are
 * read too, doubling each time, up to every list: so k results come back
 * whenever k vectors match.
 */
import type { Db } from './database.js';
import { rankLists, signPlanes } from './partitions.js';
import { partitionedIndex } from './quantized-index.js';
import { vectorBlob } from './vector-blobs.js';

/** Tuning of the coarse pass (defaults below; the bench sweeps them). */
export interface CoarseTuning {
  /** Lists read first. */
  probes?: number;
  /** Candidates kept for rescoring. */
  depth?: number;
  /** Sign planes of the query (1: Hamming distance between sign bits). */
  planes?: number;
}

/** Lists read first: the square root of the number of lists, at least MIN_PROBES. */
const MIN_PROBES = 8;
export function defaultProbes(lists: number): number {
  return Math.min(lists, Math.max(MIN_PROBES, Math.ceil(Math.sqrt(lists))));
}

/** Candidates per requested result, at least. */
const MIN_OVERFETCH = 32;
/** Candidates rescored per vector of the collection, past the minimum, ranked by Hamming distance: 1 in 500. */
const HAMMING_SHARE = 1 / 500;
/** The same with two sign planes (a third one ranked no better at 1M): 1 in 800. */
const PLANES_SHARE = 1 / 800;

export interface CoarsePlan {
  planes: number;
  depth: number;
}

/**
 * Candidates rescored: 32 per result, or a share of the collection when
 * more. The points within a given estimated distance of a query grow in
 * proportion to n, so a fixed depth loses recall as the collection grows
 * (measured at 1M × 1024-d: 1 in 500 ranked by Hamming distance kept
 * recall@10 at 0.988, 1 in 800 ranked with two sign planes at 0.976;
 * BENCHMARKS.md). The second plane costs a second distance per row read, so
 * it is used only where it saves candidates: past 160,000 vectors at k = 10.
 * More candidates again below 1024 dimensions, in proportion (fewer bits rank
 * less precisely, and each rescoring reads less).
 */
export function defaultPlan(k: number, size: number, dims: number): CoarsePlan {
  const depth = (share: number) => Math.ceil(Math.max(k * MIN_OVERFETCH, size * share) * Math.max(1, 1024 / dims));
  const [hamming, planes] = [depth(HAMMING_SHARE), depth(PLANES_SHARE)];
  return planes < hamming ? { planes: 2, depth: planes } : { planes: 1, depth: hamming };
}

export interface CoarseResult {
  ids: number[];
  /** Lists read. */
  lists: number;
}

/**
 * The candidates for a query: meme ids passing `filter` (SQL over the index
 * row's meme_id, category and is_animated columns, starting " AND"), best
 * estimate first.
 */
export function coarseCandidates(
  db: Db,
  vecTable: string,
  query: Float32Array,
  k: number,
  filter: { where: string; params: unknown[] },
  size: number,
  tuning: CoarseTuning = {},
): CoarseResult {
  const index = partitionedIndex(db, vecTable);
  if (!index) return { ids: [], lists: 0 };
  const c = index.centroids(query.length);
  const total = c.lists.length;
  if (total === 0) return { ids: [], lists: 0 };
  const plan = defaultPlan(k, size, query.length);
  const depth = Math.max(k, tuning.depth ?? plan.depth);
  const planeCount = Math.max(1, tuning.planes ?? plan.planes);
  let to = Math.min(total, tuning.probes ?? defaultProbes(total));
  const order = rankLists(c, query, to);
  const quantize = db.prepare('SELECT vec_quantize_binary(?)').pluck();
  const planes = signPlanes(query, planeCount).flatMap((p) => [p.weight, quantize.get(vectorBlob(p.signs)) as Buffer]);
  const estimate = Array.from({ length: planeCount }, () => '? * vec_distance_hamming(vec_bit(code), vec_bit(?))').join(' + ');
  const scan = db
    .prepare(
      `SELECT meme_id, ${estimate} AS h FROM "${index.tables.ivf}"
       WHERE list IN (SELECT value FROM json_each(?))${filter.where} ORDER BY h, meme_id LIMIT ?`,
    )
    .raw();
  let found: Array<[number, number]> = [];
  for (let from = 0; ; ) {
    const lists = JSON.stringify(order.slice(from, to).map((row) => c.lists[row]));
    const more = scan.all(...planes, lists, ...filter.params, depth) as Array<[number, number]>;
    found = from === 0 ? more : [...found, ...more].sort((a, b) => a[1] - b[1] || a[0] - b[0]).slice(0, depth);
    if (found.length >= depth || to >= total) break;
    from = to;
    to = Math.min(total, to * 2);
  }
  return { ids: found.map((r) => r[0]), lists: to };
}
