/** Same-picture components, duplicate and variant groups, keepers and caption comparison: pure functions. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { colourDistance } from '../../src/images/colour-grid.js';
import { hammingDistance, phashHalves } from '../../src/images/phash.js';
import { foldCaption, sameCaption } from '../../src/pictures/caption.js';
import { groupComponent } from '../../src/pictures/dupe-groups.js';
import { compareKeepers, keeperReason } from '../../src/pictures/keeper.js';
import { samePictureComponents } from '../../src/pictures/picture-components.js';
import type { PictureFacts } from '../../src/store/ports.js';
import { seededRandom } from '../helpers/seeded-random.js';

const hex = (hi: number, lo: number) => (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
function flipped(hash: string, random: () => number, bits: number): string {
  let [hi, lo] = phashHalves(hash);
  const chosen = new Set<number>();
  while (chosen.size < bits) chosen.add(Math.floor(random() * 64));
  for (const b of chosen) b < 32 ? (hi ^= 1 << (31 - b)) : (lo ^= 1 << (63 - b));
  return hex(hi, lo);
}

/** Components by comparing every pair (the reference). */
function bruteForce(memes: Array<{ id: number; picture: string; colours: string }>, max: number, maxColours = 12): number[][] {
  const parent = memes.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  for (let i = 0; i < memes.length; i++) {
    for (let j = i + 1; j < memes.length; j++) {
      const [a, b] = [memes[i]!, memes[j]!];
      if (hammingDistance(a.picture, b.picture) <= max && colourDistance(a.colours, b.colours) <= maxColours) parent[find(j)] = find(i);
    }
  }
  const groups = new Map<number, number[]>();
  memes.forEach((m, i) => groups.set(find(i), [...(groups.get(find(i)) ?? []), m.id]));
  return [...groups.values()].filter((g) => g.length > 1).map((g) => g.sort((a, b) => a - b));
}
/** Colour layouts (colour-grid.ts): mid grey, and a blue far from it. */
const GREY = '808080'.repeat(4);
const BLUE = '80a040'.repeat(4);
const canonical = (groups: number[][]) => groups.map((g) => g.join(',')).sort();

function facts(id: number, over: Partial<PictureFacts> = {}): PictureFacts {
  return {
    id, md5: `m${id}`, storageKey: `k${id}`, width: 100, height: 100, format: 'jpeg', isAnimated: false, fileSize: 1000,
    createdAt: `2025-01-0${id}T00:00:00Z`, caption: '我太难了', tags: [], sources: 1,
    phash: '00000000ffffffff', picture: 'ffffffff00000000', colours: 'c08080'.repeat(4), ...over,
  };
}

describe('same-picture components (banded)', () => {
  test('match comparing every pair: planted neighbours, chains, identical hashes, another colour', () => {
    const random = seededRandom(5);
    const memes: Array<{ id: number; picture: string; colours: string }> = [];
    for (let i = 0; i < 600; i++) {
      const base = hex(random() * 2 ** 32, random() * 2 ** 32);
      memes.push({ id: memes.length + 1, picture: base, colours: GREY });
      if (i % 3 === 0) memes.push({ id: memes.length + 1, picture: flipped(base, random, 1 + Math.floor(random() * 7)), colours: GREY });
      if (i % 7 === 0) memes.push({ id: memes.length + 1, picture: base, colours: i % 14 === 0 ? GREY : BLUE });
      if (i % 11 === 0) memes.push({ id: memes.length + 1, picture: flipped(flipped(base, random, 6), random, 6), colours: GREY });
    }
    const found = samePictureComponents(memes, 7, 12);
    assert.deepEqual(canonical(found), canonical(bruteForce(memes, 7)));
    assert.ok(found.length > 200, `${found.length} groups`);
  });

  test('match comparing every pair on skewed hashes: layout-alike pictures, flat ones, near colours, other distances', () => {
    const random = seededRandom(9);
    const jitter = (colours: string, by: number) =>
      colours.replace(/../g, (b) => Math.max(0, Math.min(255, parseInt(b, 16) + Math.round((random() - 0.5) * 2 * by))).toString(16).padStart(2, '0'));
    const memes: Array<{ id: number; picture: string; colours: string }> = [];
    const add = (picture: string, colours: string) => memes.push({ id: memes.length + 1, picture, colours });
    for (let layout = 0; layout < 30; layout++) {
      const base = hex(random() * 2 ** 32, random() * 2 ** 32);
      // Pictures laid out alike: most blocks shared, a few bits apart, so many pairs sit near the distance.
      for (let i = 0; i < 25; i++) add(flipped(base, random, 2 + Math.floor(random() * 8)), jitter(GREY, 6));
    }
    for (let i = 0; i < 60; i++) add('0000000000000000', i % 3 === 0 ? jitter(GREY, 10) : GREY); // flat pictures hash to zero
    for (let i = 0; i < 100; i++) add(hex(random() * 2 ** 32, random() * 2 ** 32), jitter(BLUE, 4));
    for (const [distance, colours] of [[7, 8], [3, 8], [11, 5]] as const) {
      const found = samePictureComponents(memes, distance, colours);
      assert.deepEqual(canonical(found), canonical(bruteForce(memes, distance, colours)), `distance ${distance}, colours ${colours}`);
    }
    assert.ok(samePictureComponents(memes, 7, 8).length > 30);
  });

  test('a colour layout that cannot be read joins nothing, not even its identical twin', () => {
    const a = '0123456789abcdef';
    assert.deepEqual(samePictureComponents([{ id: 1, picture: a, colours: '' }, { id: 2, picture: a, colours: '' }, { id: 3, picture: a, colours: GREY }], 7, 12), []);
  });

  test('a pair one bit beyond the distance stays apart', () => {
    const a = '0123456789abcdef';
    const random = seededRandom(2);
    assert.deepEqual(samePictureComponents([{ id: 1, picture: a, colours: GREY }, { id: 2, picture: flipped(a, random, 8), colours: GREY }], 7, 12), []);
    assert.deepEqual(samePictureComponents([{ id: 1, picture: a, colours: GREY }, { id: 2, picture: flipped(a, random, 7), colours: GREY }], 7, 12), [[1, 2]]);
  });
});

describe('duplicate and variant groups', () => {
  test('the keeper is the largest, then lossless, then the oldest; the reason says which rule decided', () => {
    const big = facts(3, { width: 200, height: 200 });
    const png = facts(2, { format: 'png' });
    const old = facts(1);
    assert.deepEqual([old, png, big].sort(compareKeepers).map((m) => m.id), [3, 2, 1]);
    assert.match(keeperReason(big, [png, old]), /^largest \(200×200\)/);
    assert.match(keeperReason(png, [old]), /^lossless \(png\)/);
    assert.match(keeperReason(old, [facts(4)]), /^oldest/);
  });

  test('copies of the keeper are duplicates; another caption is a variant; a still of an animated meme is not a copy', () => {
    const groups = groupComponent([
      facts(1),
      facts(2, { width: 50, height: 50, phash: '00000000fffffff0' }),
      facts(3, { caption: '@meme.cc\n我太难了！' }),
      facts(4, { caption: '打工人' }),
      facts(5, { isAnimated: true, format: 'gif' }),
    ]);
    assert.equal(groups.duplicates.length, 1);
    const [dupes] = groups.duplicates;
    assert.equal(dupes!.kept.id, 1);
    assert.deepEqual(dupes!.copies.map((c) => [c.id, c.distance]), [[3, 0], [2, 4]]);
    assert.deepEqual(groups.variants?.members.map((m) => m.id), [5, 1, 4], 'best copy first: the lossless GIF');
  });

  test('a copy joins only through the keeper itself, never a chain; one caption is no template group', () => {
    const groups = groupComponent([
      facts(1, { phash: '0000000000000000', width: 300, height: 300 }),
      facts(2, { phash: '00000000000003ff', width: 200, height: 200 }),
      facts(3, { phash: '00000000000fffff' }),
    ]);
    assert.deepEqual(groups.duplicates.map((g) => [g.kept.id, g.copies.map((c) => c.id)]), [[1, [2]]]);
    assert.deepEqual(groups.variants?.members.map((m) => m.id), [1, 3], 'the chained one stays, as a meme of its own');
    assert.equal(groupComponent([facts(1), facts(2)]).variants, undefined);
  });
});

describe('captions', () => {
  test('watermarks, specks, case and punctuation are folded away', () => {
    assert.equal(foldCaption('@meme.cc\n我太难了'), '我太难了');
    assert.equal(foldCaption('00\n我太难了！'), '我太难了');
    assert.equal(foldCaption('微博 weibo.com/u/123 我太难了'), '微博我太难了');
    assert.equal(foldCaption('OK  Fine.'), 'okfine');
  });

  test('the same caption survives one misread character in five, not a new line', () => {
    assert.ok(sameCaption('我太难了', 'pmeme.cc\n我太难了'));
    assert.ok(sameCaption('今天也很开心呢', '今天也很开心呀'));
    assert.ok(!sameCaption('开心', '开门'), 'short captions must match exactly');
    assert.ok(!sameCaption('我太难了', '打工人'));
    assert.ok(sameCaption('', ''), 'two captionless memes say the same (nothing)');
    assert.ok(!sameCaption('', '我太难了'));
  });
});
