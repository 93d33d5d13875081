/** The perceptual hash as a pure function: bits, distances, bands, and what moves them. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hammingDistance, MAX_BANDED_DISTANCE, phashBands, phashHalves, phashOfGrey, popcount32 } from '../../src/images/phash.js';
import { seededRandom } from '../helpers/seeded-random.js';

const SIDE = 32;
/** A grey picture: a dark disc off-centre on a light ground, plus optional noise. */
function picture(opts: { cx?: number; noise?: number; seed?: number; mirror?: boolean } = {}): Float64Array {
  const random = seededRandom(opts.seed ?? 1);
  const out = new Float64Array(SIDE * SIDE);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const px = opts.mirror ? SIDE - 1 - x : x;
      const inDisc = (px - (opts.cx ?? 10)) ** 2 + (y - 14) ** 2 < 36;
      const bar = y > 24 && px > 4 && px < 20;
      out[y * SIDE + x] = (inDisc ? 40 : bar ? 90 : 210) + (opts.noise ? (random() - 0.5) * opts.noise : 0);
    }
  }
  return out;
}

const randomHash = (random: () => number) =>
  Array.from({ length: 16 }, () => Math.floor(random() * 16).toString(16)).join('');

function flip(hash: string, bits: readonly number[]): string {
  let [hi, lo] = phashHalves(hash);
  for (const b of bits) {
    if (b < 32) hi = (hi ^ (1 << (31 - b))) >>> 0;
    else lo = (lo ^ (1 << (63 - b))) >>> 0;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

describe('perceptual hash', () => {
  test('is 16 hex digits, deterministic, and all zeros for a flat picture', () => {
    const h = phashOfGrey(picture());
    assert.match(h, /^[0-9a-f]{16}$/);
    assert.equal(phashOfGrey(picture()), h);
    assert.equal(phashOfGrey(new Float64Array(SIDE * SIDE).fill(128)), '0000000000000000');
    assert.throws(() => phashOfGrey(new Float64Array(10)), /32x32/);
  });

  test('noise moves a few bits; another layout and a mirror move many', () => {
    const base = phashOfGrey(picture());
    const noisy = phashOfGrey(picture({ noise: 20, seed: 7 }));
    assert.ok(hammingDistance(base, noisy) <= 4, `noise: ${hammingDistance(base, noisy)}`);
    assert.ok(hammingDistance(base, phashOfGrey(picture({ cx: 22 }))) > 12, 'the disc elsewhere');
    assert.ok(hammingDistance(base, phashOfGrey(picture({ mirror: true }))) > 12, 'mirrored');
  });

  test('popcount and distance agree with counting bit by bit', () => {
    const random = seededRandom(3);
    for (let i = 0; i < 200; i++) {
      const [a, b] = [randomHash(random), randomHash(random)];
      const naive = [...a].reduce((n, c, j) => n + [...(parseInt(c, 16) ^ parseInt(b[j]!, 16)).toString(2)].filter((d) => d === '1').length, 0);
      assert.equal(hammingDistance(a, b), naive);
    }
    assert.equal(popcount32(0xffffffff), 32);
    assert.equal(popcount32(0), 0);
  });

  test('two hashes within the banded distance always share a band exactly (pigeonhole)', () => {
    const random = seededRandom(11);
    for (let i = 0; i < 2000; i++) {
      const a = randomHash(random);
      const bits = new Set<number>();
      const want = 1 + Math.floor(random() * MAX_BANDED_DISTANCE);
      while (bits.size < want) bits.add(Math.floor(random() * 64));
      const b = flip(a, [...bits]);
      assert.equal(hammingDistance(a, b), want);
      const [ba, bb] = [phashBands(a), phashBands(b)];
      assert.ok(ba.some((v, j) => v === bb[j]), `${a} ${b} share no band`);
    }
    // One more bit and a pair can differ in every band.
    const spread = flip('0000000000000000', [0, 8, 16, 24, 32, 40, 48, 56]);
    assert.deepEqual(phashBands(spread).filter((v) => v === 0), []);
  });
});
