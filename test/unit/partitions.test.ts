/** The arithmetic of the partitioned vector index: list ranking and the two-way split. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { centroidSet, dot, hamming, rankLists, signBits, signPlanes, splitInTwo, unit } from '../../src/store/sqlite/partitions.js';
import { seededRandom } from '../helpers/seeded-random.js';

const random = seededRandom(7);
const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const randomUnit = (dims: number) => unit(Float32Array.from({ length: dims }, gaussian));
/** `around` plus noise of relative size `spread`, unit length. */
const near = (around: Float32Array, spread: number) => unit(Float32Array.from(around, (x) => x + (gaussian() * spread) / Math.sqrt(around.length)));

/** Row indices by exact dot product, best first. */
const exactOrder = (vectors: Float32Array[], v: Float32Array) =>
  vectors.map((c, i) => [dot(v, c), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, i]) => i);

test('sign bits and Hamming distance count the dimensions on different sides of the origin', () => {
  const origin = new Float32Array(40);
  const a = Float32Array.from({ length: 40 }, (_, i) => (i % 2 ? 1 : -1));
  const b = Float32Array.from(a, (x, i) => (i < 5 ? -x : x));
  assert.equal(hamming(signBits(a, origin), signBits(a, origin)), 0);
  assert.equal(hamming(signBits(a, origin), signBits(b, origin)), 5);
});

test('sign planes: each weight is the mean size of what is left, and each plane leaves less of the vector', () => {
  const v = Float32Array.from({ length: 256 }, gaussian);
  const planes = signPlanes(v, 3);
  const approx = new Float32Array(v.length);
  let left = Math.sqrt(dot(v, v));
  for (const { weight, signs } of planes) {
    const rest = Float32Array.from(v, (x, i) => x - approx[i]!);
    assert.ok(signs.every((x, i) => Math.abs(x - rest[i]!) < 1e-5), 'each plane is the signs of the remainder');
    assert.ok(Math.abs(weight - rest.reduce((s, x) => s + Math.abs(x), 0) / v.length) < 1e-6);
    signs.forEach((x, i) => (approx[i]! += x > 0 ? weight : -weight));
    const remainder = Float32Array.from(v, (x, i) => x - approx[i]!);
    const now = Math.sqrt(dot(remainder, remainder));
    assert.ok(now < left * 0.8, `remainder ${now} after ${left}`);
    left = now;
  }
});

test('sign planes rank sign codes by their dot product with the float vector, where plain Hamming distance ties', () => {
  const zero = new Float32Array(8);
  const v = Float32Array.from([3, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
  const flipped = (i: number) => Float32Array.from(v, (_, j) => (j === i ? -1 : 1));
  const [big, small] = [flipped(0), flipped(1)]; // v·big = -2.8 + 3... < v·small
  assert.ok(dot(v, big) < dot(v, small));
  const own = signBits(v, zero);
  assert.equal(hamming(own, signBits(big, zero)), hamming(own, signBits(small, zero)), 'one plane cannot tell them apart');
  const estimate = (code: Float32Array) =>
    signPlanes(v, 2).reduce((s, p) => s + p.weight * hamming(signBits(p.signs, zero), signBits(code, zero)), 0);
  assert.ok(estimate(small) < estimate(big), 'the larger dot product ranks first');
  // Over random codes, the two-plane estimate orders pairs like the dot product more often than one plane.
  const w = Float32Array.from({ length: 128 }, gaussian);
  const codes = Array.from({ length: 200 }, () => Float32Array.from({ length: 128 }, () => (random() < 0.5 ? -1 : 1)));
  const agreement = (planes: number) => {
    const p = signPlanes(w, planes);
    const e = codes.map((code) => p.reduce((s, x) => s + x.weight * hamming(signBits(x.signs, new Float32Array(128)), signBits(code, new Float32Array(128))), 0));
    let same = 0;
    for (let a = 0; a < codes.length; a++) for (let b = a + 1; b < codes.length; b++) if (Math.sign(e[b]! - e[a]!) === Math.sign(dot(w, codes[a]!) - dot(w, codes[b]!))) same++;
    return same / ((codes.length * (codes.length - 1)) / 2);
  };
  const [one, two] = [agreement(1), agreement(2)];
  assert.ok(two > one + 0.05 && two > 0.85, `pairs ordered like the dot product: ${one} with one plane, ${two} with two`);
});

test('few lists: every centroid is compared exactly', () => {
  const vectors = Array.from({ length: 40 }, () => randomUnit(96));
  const c = centroidSet(vectors.map((_, i) => i + 1), vectors, 96);
  for (let q = 0; q < 20; q++) {
    const v = randomUnit(96);
    assert.deepEqual(rankLists(c, v, 40), exactOrder(vectors, v));
  }
});

test('many lists: the nearest centroids come first, found through the Hamming shortlist', () => {
  const dims = 256;
  const vectors = Array.from({ length: 600 }, () => randomUnit(dims));
  const c = centroidSet(vectors.map((_, i) => i + 1), vectors, dims);
  let same = 0;
  for (let q = 0; q < 50; q++) {
    const v = near(vectors[Math.floor(random() * vectors.length)]!, 1);
    const ranked = rankLists(c, v, 8);
    assert.equal(ranked.length, vectors.length);
    assert.equal(new Set(ranked).size, vectors.length, 'every list once');
    const exact = exactOrder(vectors, v);
    // The ranked head is in exact order among itself…
    const head = ranked.slice(0, 8);
    assert.deepEqual(head, [...head].sort((a, b) => dot(v, vectors[b]!) - dot(v, vectors[a]!)));
    if (head[0] === exact[0]) same++;
  }
  assert.ok(same >= 48, `nearest list first in ${same}/50`);
});

test('sparse vectors (hashed word features) are ranked exactly against every centroid', () => {
  const dims = 512;
  const vectors = Array.from({ length: 300 }, () => randomUnit(dims));
  const c = centroidSet(vectors.map((_, i) => i + 1), vectors, dims);
  const v = new Float32Array(dims);
  for (const i of [3, 99, 140, 377, 501]) v[i] = random() - 0.5;
  assert.deepEqual(rankLists(c, v, 5), exactOrder(vectors, v));
});

test('a split separates two groups and gives each its centroid', () => {
  const [a, b] = [randomUnit(128), randomUnit(128)];
  const members = Array.from({ length: 300 }, (_, i) => near(i % 3 === 0 ? a : b, 0.5));
  const { centroids, side } = splitInTwo(members);
  const group = members.map((_, i) => (i % 3 === 0 ? 0 : 1));
  // Each group on one side, the sides different.
  const sideOfA = side[0]!;
  members.forEach((_, i) => assert.equal(side[i], group[i] === 0 ? sideOfA : 1 - sideOfA));
  assert.ok(dot(centroids[sideOfA]!, a) > 0.9 && dot(centroids[1 - sideOfA]!, b) > 0.9);
  for (const centroid of centroids) assert.ok(Math.abs(dot(centroid, centroid) - 1) < 1e-5, 'unit length');
});

test('a split of one diffuse group is balanced, and identical members split by position', () => {
  const diffuse = Array.from({ length: 201 }, () => randomUnit(64));
  const { side } = splitInTwo(diffuse);
  const ones = side.reduce((s, x) => s + x, 0);
  assert.ok(ones >= 201 / 4 && ones <= (3 * 201) / 4, `${ones} of 201`);

  const same = Array.from({ length: 10 }, () => Float32Array.from({ length: 16 }, () => 0.25));
  const split = splitInTwo(same);
  assert.deepEqual([...split.side], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  assert.deepEqual([...split.centroids[0]], [...split.centroids[1]]);
});
