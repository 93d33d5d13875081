/**
 * The coarse pass of vector recall through the partitioned index
 * (quantized-index.ts): rank the lists by their centroids, read the sign bits
 * of the nearest lists' vectors that pass the filters, and keep the `depth`
 * closest by Hamming distance for exact float32 rescoring. When the probed
 * lists hold fewer than `depth` matching vectors (a selective filter, lists
 * emptied by deletes), the next lists are read too, doubling each time, up to
 * every list: so k results come back whenever k vectors match.
 */
import type { Db } from './database.js';
import { rankLists } from './partitions.js';
import { partitionedIndex } from './quantized-index.js';
import { vectorBlob } from './vector-blobs.js';

/** Tuning of the coarse pass (defaults below; the bench sweeps them). */
export interface CoarseTuning {
  /** Lists read first. */
  probes?: number;
  /** Candidates kept for rescoring. */
  depth?: number;
}

/** Lists read first: the square root of the number of lists, at least MIN_PROBES. */
const MIN_PROBES = 8;
export function defaultProbes(lists: number): number {
  return Math.min(lists, Math.max(MIN_PROBES, Math.ceil(Math.sqrt(lists))));
}

/** Candidates per requested result, at least. */
const MIN_OVERFETCH = 32;
/** Candidates rescored per vector of the collection, past the minimum: 1 in 500. */
const DEPTH_SHARE = 1 / 500;

/**
 * Candidates rescored: 32 per result, or 1 in 500 of the collection when
 * more. The points within a given Hamming distance of a query grow in
 * proportion to n, so a fixed depth loses recall as the collection grows
 * (measured at 1M × 1024-d: √n = 1000 candidates kept recall@10 near 0.85,
 * n/500 = 2000 kept it above 0.95; BENCHMARKS.md). More again below 1024
 * dimensions, in proportion (fewer bits rank less precisely, and each
 * rescoring reads less).
 */
export function defaultDepth(k: number, size: number, dims: number): number {
  return Math.ceil(Math.max(k * MIN_OVERFETCH, size * DEPTH_SHARE) * Math.max(1, 1024 / dims));
}

export interface CoarseResult {
  ids: number[];
  /** Lists read. */
  lists: number;
}

/**
 * The candidates for a query: meme ids passing `filter` (SQL over the index
 * row's meme_id, category and is_animated columns, starting " AND"), best
 * Hamming distance first.
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
  const depth = Math.max(k, tuning.depth ?? defaultDepth(k, size, query.length));
  let to = Math.min(total, tuning.probes ?? defaultProbes(total));
  const order = rankLists(c, query, to);
  const code = db.prepare('SELECT vec_quantize_binary(?)').pluck().get(vectorBlob(query)) as Buffer;
  const scan = db
    .prepare(
      `SELECT meme_id, vec_distance_hamming(vec_bit(code), vec_bit(?)) AS h FROM "${index.tables.ivf}"
       WHERE list IN (SELECT value FROM json_each(?))${filter.where} ORDER BY h, meme_id LIMIT ?`,
    )
    .raw();
  let found: Array<[number, number]> = [];
  for (let from = 0; ; ) {
    const lists = JSON.stringify(order.slice(from, to).map((row) => c.lists[row]));
    const more = scan.all(code, lists, ...filter.params, depth) as Array<[number, number]>;
    found = from === 0 ? more : [...found, ...more].sort((a, b) => a[1] - b[1] || a[0] - b[0]).slice(0, depth);
    if (found.length >= depth || to >= total) break;
    from = to;
    to = Math.min(total, to * 2);
  }
  return { ids: found.map((r) => r[0]), lists: to };
}
