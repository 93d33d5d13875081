/**
 * What the recall benchmarks share: the same deterministic vectors for every
 * backend (clustered: random centroids plus gaussian noise of about the
 * centroid's length, so quantisation and graph indexes meet realistic
 * structure rather than uniform noise), and the figures they report.
 */
import { seededRandom } from '../test/helpers/seeded-random.js';

/**
 * Vectors near the data; the same seed, dims and clusters give the same
 * sequence on every run. `skip` starts it that many vectors in (each draws
 * 1 + 2 × dims random numbers), without computing them.
 */
export function clusteredVectors(dims: number, clusters: number, skip = 0): () => Float32Array {
  const random = seededRandom(0x9e3779b9);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centroids = Array.from({ length: clusters }, () => normalise(Float32Array.from({ length: dims }, gaussian)));
  for (let i = skip * (1 + 2 * dims); i > 0; i--) random();
  const sigma = 1 / Math.sqrt(dims);
  return () => {
    const c = centroids[Math.floor(random() * clusters)]!;
    return normalise(Float32Array.from(c, (x) => x + gaussian() * sigma));
  };
}

function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const norm = Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

export const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/** Share of the exact top-k ids the approximate search found, over all queries. */
export function recallAt(approx: number[][], exact: number[][]): number {
  let found = 0;
  let total = 0;
  approx.forEach((ids, i) => {
    const truth = new Set(exact[i]);
    total += truth.size;
    found += ids.filter((id) => truth.has(id)).length;
  });
  return total ? found / total : 1;
}

/**
 * Latency percentiles and result ids of one search over every query, after
 * one warm-up query; with the median CPU time of this process per search
 * (user + system), which a loaded machine inflates far less than wall time.
 */
export async function measure(
  queries: readonly Float32Array[],
  search: (q: Float32Array) => number[] | Promise<number[]>,
): Promise<{ p50: number; p95: number; cpuP50: number; results: number[][] }> {
  await search(queries[0]!);
  const times: number[] = [];
  const cpu: number[] = [];
  const results: number[][] = [];
  for (const q of queries) {
    const t = performance.now();
    const c = process.cpuUsage();
    results.push(await search(q));
    times.push(performance.now() - t);
    const used = process.cpuUsage(c);
    cpu.push((used.user + used.system) / 1000);
  }
  return { p50: percentile(times, 0.5), p95: percentile(times, 0.95), cpuP50: percentile(cpu, 0.5), results };
}
