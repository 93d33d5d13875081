/**
 * The coarse pass of the partitioned index (quantized-search.ts) on a real
 * SQLite library: stored sign codes are ranked by their estimated dot
 * product with the float query (two sign planes), so of two codes at the
 * same Hamming distance from the query's own sign bits, the one closer to
 * the query comes first.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { coarseCandidates } from '../../src/store/sqlite/quantized-search.js';
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
      const best = coarseCandidates(db, coll.vec_table, query, 1, noFilter, 2, { depth: 1 });
      assert.deepEqual(best.ids, [small], `memes ${big} (large component flipped) and ${small} (small one flipped)`);
      const both = coarseCandidates(db, coll.vec_table, query, 1, noFilter, 2, { depth: 2 });
      assert.deepEqual(both.ids, [small, big]);
    } finally {
      db.close();
    }
  }
});
