/**
 * Perceptual hashes: 64 bits that stay (nearly) the same when a picture is
 * re-encoded, resized, lightly cropped or watermarked, so copies are found by
 * Hamming distance instead of md5. Each meme has two, of its first frame
 * (see frame-regions.ts): `phash` of the whole frame and `picture` of its
 * picture zone, which leaves the caption out.
 *
 * DCT pHash: 32×32 grey levels, their 2-D DCT-II, and one bit for each of the
 * 64 lowest frequencies after DC (zig-zag order). A bit is 1 when the
 * coefficient is above a small dead zone (2% of the coefficients' RMS) and 0
 * otherwise (a flat picture hashes to all zeros), rather than the classic "above the median": a flat or mirror-
 * symmetric picture has many coefficients at about zero, and against the
 * median those bits would flip with every re-encode. A mirrored picture
 * flips the sign of every odd horizontal frequency, so a mirror is (rightly)
 * another picture unless the picture is symmetric.
 *
 * A hash is 16 hex digits. Its 8 bytes are the bands of the candidate index:
 * two hashes within Hamming distance 7 differ in at most 7 bytes, so they
 * share at least one band exactly (pigeonhole), and looking up the 8 bands of
 * a hash finds every such neighbour without comparing all pairs.
 */
import { colourGrid, encodeColours } from './colour-grid.js';
import { lowFrequencies } from './dct.js';
import { frameRegions, luminance, type FrameRegions } from './frame-regions.js';
import type { ImageLimits } from './probe.js';

const BITS = 64;
const DEAD_ZONE = 0.02;
/** Below this a coefficient is nothing at all (a flat picture hashes to all zeros, not to rounding noise). */
const FLAT = 1;
export const PHASH_BANDS = 8;
/** The largest distance the banded lookup is guaranteed to find (one band must match exactly). */
export const MAX_BANDED_DISTANCE = PHASH_BANDS - 1;

export interface PictureHashes {
  /** The whole first frame. */
  phash: string;
  /** Its picture zone: the caption left out. */
  picture: string;
  /**
   * The picture zone's colour layout (colour-grid.ts: 2×2 mean CIELAB, 24
   * hex digits). Grey hashes cannot tell a template drawn on pink from the
   * same drawn on blue; this can.
   */
  colours: string;
}

/** The hash of 32×32 grey levels (row-major). Pure. */
export function phashOfGrey(grey: ArrayLike<number>): string {
  const coefficients = lowFrequencies(grey, BITS);
  let power = 0;
  for (const c of coefficients) power += c * c;
  const threshold = Math.max(DEAD_ZONE * Math.sqrt(power / BITS), FLAT);
  let hex = '';
  for (let nibble = 0; nibble < BITS / 4; nibble++) {
    let value = 0;
    for (let b = 0; b < 4; b++) value = (value << 1) | (coefficients[nibble * 4 + b]! > threshold ? 1 : 0);
    hex += value.toString(16);
  }
  return hex;
}

export function hashesOfRegions(regions: FrameRegions): PictureHashes {
  return {
    phash: phashOfGrey(luminance(regions.whole)),
    picture: phashOfGrey(luminance(regions.picture)),
    colours: encodeColours(colourGrid(regions.picture, 2, 'mean')),
  };
}

/** Both hashes of an image file's first frame (decodes it: check the pixel limit first). */
export async function hashImage(bytes: Buffer, limits: ImageLimits): Promise<PictureHashes> {
  return hashesOfRegions(await frameRegions(bytes, limits));
}

export function isPhash(value: string): boolean {
  return /^[0-9a-f]{16}$/.test(value);
}

/** The 8 band values (the hash's bytes), 0..255 each. */
export function phashBands(hash: string): number[] {
  return Array.from({ length: PHASH_BANDS }, (_, i) => parseInt(hash.slice(i * 2, i * 2 + 2), 16));
}

/** The hash as two unsigned 32-bit halves (for bulk comparisons in typed arrays). */
export function phashHalves(hash: string): [number, number] {
  return [parseInt(hash.slice(0, 8), 16) >>> 0, parseInt(hash.slice(8), 16) >>> 0];
}

/** Number of differing bits between two hashes. */
export function hammingDistance(a: string, b: string): number {
  const [ah, al] = phashHalves(a);
  const [bh, bl] = phashHalves(b);
  return popcount32(ah ^ bh) + popcount32(al ^ bl);
}

export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
