/**
 * The arithmetic of the partitioned vector index (quantized-index.ts), pure
 * and synchronous. Partitions ("lists") are by direction: a vector belongs to
 * the list whose unit-length centroid has the largest dot product with it,
 * which is the nearest centroid by cosine whatever the vector's own length.
 */

/** Dot product of `a` with the `a.length` values of `b` from `offset`. */
export function dot(a: Float32Array, b: Float32Array, offset = 0): number {
  const n = a.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[i]! * b[offset + i]!;
    s1 += a[i + 1]! * b[offset + i + 1]!;
    s2 += a[i + 2]! * b[offset + i + 2]!;
    s3 += a[i + 3]! * b[offset + i + 3]!;
  }
  for (; i < n; i++) s0 += a[i]! * b[offset + i]!;
  return s0 + s1 + s2 + s3;
}

/** A unit-length copy (a zero vector stays zero). */
export function unit(v: Float32Array): Float32Array {
  const norm = Math.sqrt(dot(v, v));
  const out = new Float32Array(v.length);
  if (norm > 0) for (let i = 0; i < v.length; i++) out[i] = v[i]! / norm;
  return out;
}

/** Sign bits of `v − origin`, 32 per word: the direction in 1/32 of the space, for a quick first comparison. */
export function signBits(v: Float32Array, origin: Float32Array): Uint32Array {
  const bits = new Uint32Array(Math.ceil(v.length / 32));
  for (let i = 0; i < v.length; i++) if (v[i]! > origin[i]!) bits[i >>> 5]! |= 1 << (i & 31);
  return bits;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

export function hamming(a: Uint32Array, b: Uint32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += popcount(a[i]! ^ b[i]!);
  return s;
}

/** One term of `signPlanes`: a weight and the vector whose signs (x > 0 or not) make the plane. */
export interface SignPlane {
  weight: number;
  signs: Float32Array;
}

/**
 * `v` as a weighted sum of sign vectors: v ≈ Σ w_j·sign(r_j), with r_1 = v,
 * r_j+1 = r_j − w_j·sign(r_j) and w_j = mean |r_j| (the least-squares weight),
 * sign(x) being +1 when x > 0 and −1 otherwise (as vec_quantize_binary sets
 * its bits). So the dot product of `v` with a stored vector's sign code s is
 * v·s ≈ Σ w_j·(d − 2·hamming(sign(r_j), s)): ranking codes by
 * Σ w_j·hamming(sign(r_j), s), smallest first, ranks them by their estimated
 * dot product with the float query, not with its own sign bits only.
 */
export function signPlanes(v: Float32Array, planes: number): SignPlane[] {
  const out: SignPlane[] = [];
  let r = Float32Array.from(v);
  for (let j = 0; j < planes; j++) {
    let weight = 0;
    for (const x of r) weight += Math.abs(x);
    weight /= r.length || 1;
    out.push({ weight, signs: r });
    r = r.map((x) => x - (x > 0 ? weight : -weight));
  }
  return out;
}

/** The centroids of an index, as loaded once per index generation. */
export interface Centroids {
  /** The list id of each row. */
  lists: number[];
  /** Unit-length centroids, row by row. */
  vectors: Float32Array[];
  /** The mean centroid: sign bits are taken relative to it, so they describe sparse vectors too. */
  origin: Float32Array;
  bits: Uint32Array[];
}

export function centroidSet(lists: number[], vectors: Float32Array[], dims: number): Centroids {
  const origin = new Float32Array(dims);
  for (const v of vectors) for (let i = 0; i < dims; i++) origin[i]! += v[i]! / vectors.length;
  return { lists, vectors, origin, bits: vectors.map((v) => signBits(v, origin)) };
}

/** Up to this many centroids are all compared exactly; past it a Hamming shortlist is compared exactly. */
const ALL_EXACT = 64;
/** Size of that shortlist, at least (it is twice the rows asked for when that is more). */
const SHORTLIST = 48;

/** Rows sorted by a small non-negative integer key, ties by row: packed into one number and sorted natively. */
function sortedBy(key: (row: number) => number, rows: number): number[] {
  const packed = new Float64Array(rows);
  for (let r = 0; r < rows; r++) packed[r] = key(r) * 2 ** 21 + r;
  packed.sort();
  return Array.from(packed, (x) => x % 2 ** 21);
}

/** The vector's exact similarity to a centroid row: a dot product, over the non-zero dimensions only when the vector is sparse. */
function scorer(c: Centroids, v: Float32Array): { score: (row: number) => number; sparse: boolean } {
  const nonZero: number[] = [];
  for (let i = 0; i < v.length && nonZero.length <= v.length >>> 3; i++) if (v[i] !== 0) nonZero.push(i);
  if (nonZero.length > v.length >>> 3) return { score: (row) => dot(v, c.vectors[row]!), sparse: false };
  return {
    sparse: true,
    score: (row) => {
      const w = c.vectors[row]!;
      let s = 0;
      for (const i of nonZero) s += v[i]! * w[i]!;
      return s;
    },
  };
}

/**
 * Row indices of `c`, nearest first. The first `exact` are ranked by the
 * exact dot product: among every centroid when there are few (or the vector
 * is sparse, when a dot product costs a few multiplications), else among a
 * shortlist ranked by the Hamming distance of sign bits (1/32 of the cost of
 * a dot product). The rest follow in Hamming order.
 */
export function rankLists(c: Centroids, v: Float32Array, exact: number): number[] {
  const n = c.lists.length;
  const { score, sparse } = scorer(c, v);
  const byScore = (rows: number[]) => {
    const scores = new Map(rows.map((r) => [r, score(r)]));
    return rows.sort((a, b) => scores.get(b)! - scores.get(a)! || a - b);
  };
  if (n <= ALL_EXACT || sparse) return byScore(Array.from({ length: n }, (_, r) => r));
  const bits = signBits(v, c.origin);
  const order = sortedBy((r) => hamming(bits, c.bits[r]!), n);
  const short = Math.min(n, Math.max(SHORTLIST, 2 * exact));
  return [...byScore(order.slice(0, short)), ...order.slice(short)];
}

/**
 * The row of the nearest centroid (the first row `rankLists` gives), without
 * ranking the others; or the nearest among `among` rows, compared exactly.
 */
export function nearestList(c: Centroids, v: Float32Array, among?: readonly number[]): number {
  const n = c.lists.length;
  const { score, sparse } = scorer(c, v);
  const candidates =
    among ?? (n <= ALL_EXACT || sparse ? Array.from({ length: n }, (_, r) => r) : (() => {
      const bits = signBits(v, c.origin);
      return sortedBy((r) => hamming(bits, c.bits[r]!), n).slice(0, SHORTLIST);
    })());
  let best = candidates[0]!;
  let bestScore = -Infinity;
  for (const r of candidates) {
    const s = score(r);
    if (s > bestScore || (s === bestScore && r < best)) [best, bestScore] = [r, s];
  }
  return best;
}

/**
 * Splits a list in two: along the members' principal direction at its median
 * (two equal halves), then refined by a few 2-means steps unless those leave
 * a side with less than a quarter of the members. Members are compared by
 * direction (unit length). Identical members are split by position.
 * Deterministic: the same members always split the same way.
 */
export function splitInTwo(members: readonly Float32Array[]): { centroids: [Float32Array, Float32Array]; side: Uint8Array } {
  const m = members.length;
  const dims = members[0]!.length;
  const units = members.map(unit);
  const mean = new Float32Array(dims);
  for (const u of units) for (let i = 0; i < dims; i++) mean[i]! += u[i]!;
  for (let i = 0; i < dims; i++) mean[i]! /= m;

  // Power iteration for the principal direction of the centred members, from the member farthest from the mean.
  const toMean = units.map((u) => dot(u, mean));
  const far = toMean.indexOf(Math.min(...toMean));
  let direction: Float32Array = Float32Array.from(units[far]!, (x, i) => x - mean[i]!);
  for (let round = 0; round < 2; round++) {
    // Σ p·(u − mean) with p = (u − mean)·direction, summed as Σ p·u − (Σ p)·mean.
    const next = new Float32Array(dims);
    const shift = dot(mean, direction);
    let total = 0;
    for (const u of units) {
      const p = dot(u, direction) - shift;
      total += p;
      for (let i = 0; i < dims; i++) next[i]! += p * u[i]!;
    }
    for (let i = 0; i < dims; i++) next[i]! -= total * mean[i]!;
    if (dot(next, next) === 0) break;
    direction = unit(next);
  }
  const projection = units.map((u) => dot(u, direction));
  const order = Array.from({ length: m }, (_, j) => j).sort((a, b) => projection[a]! - projection[b]! || a - b);
  let side = new Uint8Array(m);
  for (let r = Math.floor(m / 2); r < m; r++) side[order[r]!] = 1;

  let centroids = sideMeans(units, side);
  for (let step = 0; step < 2; step++) {
    // Nearer to b than to a: (b − a)·u > 0.
    const towards = Float32Array.from(centroids[1], (x, i) => x - centroids[0][i]!);
    const next = Uint8Array.from(units, (u) => (dot(u, towards) > 0 ? 1 : 0));
    const ones = next.reduce((s, x) => s + x, 0);
    if (ones < m / 4 || m - ones < m / 4) break;
    side = next;
    centroids = sideMeans(units, side);
  }
  return { centroids, side };
}

/** Unit-length means of the members on each side. */
function sideMeans(units: readonly Float32Array[], side: Uint8Array): [Float32Array, Float32Array] {
  const dims = units[0]!.length;
  const sums = [new Float32Array(dims), new Float32Array(dims)] as const;
  units.forEach((u, j) => {
    const sum = sums[side[j]!]!;
    for (let i = 0; i < dims; i++) sum[i]! += u[i]!;
  });
  return [unit(sums[0]), unit(sums[1])];
}
