import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { reciprocalRankFusion, RRF_K } from '../../src/pipeline/rrf.js';

describe('reciprocal rank fusion', () => {
  test('scores are Σ 1/(k + rank) with k = 60, best first', () => {
    const fused = reciprocalRankFusion([
      ['a', 'b', 'c'],
      ['c', 'a'],
    ]);
    assert.equal(RRF_K, 60);
    assert.deepEqual(fused.map((f) => f.id), ['a', 'c', 'b']);
    assert.equal(fused[0]!.score, 1 / 61 + 1 / 62);
    assert.equal(fused[1]!.score, 1 / 63 + 1 / 61);
    assert.equal(fused[2]!.score, 1 / 62);
    assert.deepEqual(fused[0]!.ranks, [1, 2]);
    assert.deepEqual(fused[2]!.ranks, [2, undefined]);
  });

  test('an item both lists rank moderately beats one that only one list ranks first', () => {
    const fused = reciprocalRankFusion([
      ['x', 'both'],
      ['y', 'both'],
    ]);
    assert.equal(fused[0]!.id, 'both');
  });

  test('ties keep first appearance; duplicates in one list count once; empty lists are fine', () => {
    assert.deepEqual(reciprocalRankFusion([['p'], ['q']]).map((f) => f.id), ['p', 'q']);
    const dup = reciprocalRankFusion([['a', 'a', 'b']]);
    assert.equal(dup.find((f) => f.id === 'a')!.score, 1 / 61);
    assert.deepEqual(reciprocalRankFusion([[], []]), []);
    assert.deepEqual(reciprocalRankFusion([[], [7]]).map((f) => [f.id, f.ranks]), [[7, [undefined, 1]]]);
  });

  test('a smaller k weighs the top ranks more', () => {
    const lists = [['a', 'b', 'c', 'd'], ['d', 'c', 'b', 'a']].map((l) => l.slice());
    lists[0]!.push('e');
    assert.equal(reciprocalRankFusion(lists, 1)[0]!.score, 1 / 2 + 1 / 5);
  });
});
