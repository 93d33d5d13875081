/**
 * The coarse pass of the partitioned index (quantized-search.ts) on a real
 * SQLite library: stored sign codes are ranked by their estimated dot
 * product with the float query (two sign planes), so of two codes at the
 * same Hamming distance from the query's own sign bits, the one closer to
 * the query comes first. Two planes are used by default only where they
 * let fewer candidates be rescored.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { coarseCandidates, defaultPlan } from '../../src/store/sqlite/quantized-search.js';
import { ensureVectorTable, insertVector } from '../../src/store/sqlite/vector-tables.js';

const meta = { category: 'c', isAnimated: false, source: 'test' };
const noFilter = { where: '', params: [] };

test('of two codes one bit away from the query, the one that differs on a small component is the better candidate', () => {
  const query = Float32Array.from([3, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
  const flipped = (i: number) => Float32Array.from(query, (_, j) => (j === i ? -1 : 1));
  // Both id orders, so neither the meme id nor the insertion order decides.
  for (const [big, small] of [
    [1, 2],
    [4, 3],
  ] as const) {
    const db = openDatabase(':memory:');
    try {
      const coll = ensureVectorTable(db, 'test', 8, 'test-model');
      insertVector(db, coll, big, flipped(0), meta);
      insertVector(db, coll, small, flipped(1), meta);
      const best = coarseCandidates(db, coll.vec_table, query, 1, noFilter, 2, { depth: 1, planes: 2 });
      assert.deepEqual(best.ids, [small], `memes ${big} (large component flipped) and ${small} (small one flipped)`);
      const both = coarseCandidates(db, coll.vec_table, query, 1, noFilter, 2, { depth: 2, planes: 2 });
      assert.deepEqual(both.ids, [small, big]);
      // By Hamming distance alone (one plane) the two tie, and the lower meme id comes first.
      const hamming = coarseCandidates(db, coll.vec_table, query, 1, noFilter, 2, { depth: 2, planes: 1 });
      assert.deepEqual(hamming.ids, [Math.min(big, small), Math.max(big, small)]);
    } finally {
      db.close();
    }
  }
});

test('two sign planes are used by default only where they cut the candidates rescored', () => {
  // Up to 160,000 vectors at k = 10 the depth is 32 per result either way: one plane, as cheap as before.
  assert.deepEqual(defaultPlan(10, 100_000, 1024), { planes: 1, depth: 320 });
  assert.deepEqual(defaultPlan(10, 160_000, 1024), { planes: 1, depth: 320 });
  // Past it the depth grows with the collection: 1 in 500 by Hamming distance, 1 in 800 with two planes.
  assert.deepEqual(defaultPlan(10, 1_000_000, 1024), { planes: 2, depth: 1250 });
  assert.deepEqual(defaultPlan(10, 1_000_000, 512), { planes: 2, depth: 2500 });
  assert.deepEqual(defaultPlan(100, 1_000_000, 1024), { planes: 1, depth: 3200 });
});
