/**
 * Choosing the representative frames of an animated image cheaply: its
 * leading frames are decoded once into tiny signatures (32x32, flattened on
 * white) and `pickFrames` chooses among them.
 *
 * Decoding is bounded by the pixel limit, frames x pixels: every chosen frame
 * is later rendered on its own, and rendering frame i decodes frames 0..i
 * again (GIF and WebP frames build on the ones before), so analysing a window
 * of W frames and rendering up to `maxFrames` of them decodes at most
 * W x (maxFrames + 1) frames. W is chosen so that this stays within
 * `maxPixels`: a 10,000-frame GIF costs no more to read than the largest
 * accepted still; only its first W frames are considered.
 */
import sharp from 'sharp';
import type { ImageFacts } from '../ports.js';
import { pickFrames } from './frame-pick.js';
import type { ImageLimits } from './probe.js';

/** Side of the square signature each frame is shrunk to. */
const SIGNATURE_SIDE = 32;

/** How many leading frames may be analysed so that analysis plus rendering decodes at most `maxPixels`. */
export function frameWindow(facts: Pick<ImageFacts, 'width' | 'height' | 'frames'>, limits: ImageLimits, maxFrames: number): number {
  const framePixels = Math.max(1, facts.width * facts.height);
  return Math.max(1, Math.min(facts.frames, Math.floor(limits.maxPixels / (framePixels * (maxFrames + 1)))));
}

/**
 * Indices of the frames worth reading, in playing order, starting with 0.
 * A still, a cap of 1 or a window of one frame gives [0] without decoding.
 * Call only on bytes already checked by `probeImage`.
 */
export async function chooseFrames(bytes: Buffer, facts: ImageFacts, limits: ImageLimits, maxFrames: number): Promise<number[]> {
  if (maxFrames <= 1 || facts.frames <= 1) return [0];
  const window = frameWindow(facts, limits, maxFrames);
  if (window < 2) return [0];
  let signatures: Uint8Array[];
  try {
    signatures = await frameSignatures(bytes, window, limits);
  } catch {
    // A damaged later frame (truncated download): the first frame is still
    // read, exactly as for an image read from its first frame only; damage in
    // the first frame itself fails when that frame is rendered.
    return [0];
  }
  return pickFrames(signatures, { maxFrames });
}

/** The first `count` frames, each shrunk to SIGNATURE_SIDE² RGB values on white. */
export async function frameSignatures(bytes: Buffer, count: number, limits: ImageLimits): Promise<Uint8Array[]> {
  const { data, info } = await sharp(bytes, {
    failOn: 'error',
    // The stacked frames are one image to libvips, so this bounds the whole decode.
    limitInputPixels: Math.max(1, Math.floor(limits.maxPixels)),
    sequentialRead: true,
    pages: count,
  })
    .toColourspace('srgb')
    .ensureAlpha()
    // Each page is resized on its own; 'linear' is the cheapest kernel that still averages.
    .resize(SIGNATURE_SIDE, SIGNATURE_SIDE, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 4) throw new Error(`expected RGBA signatures, got ${info.channels} channels`);
  const area = SIGNATURE_SIDE * SIGNATURE_SIDE;
  const frames = Math.floor(info.height / SIGNATURE_SIDE);
  const signatures: Uint8Array[] = [];
  for (let f = 0; f < frames; f++) {
    const signature = new Uint8Array(area * 3);
    for (let p = 0; p < area; p++) {
      const o = (f * area + p) * 4;
      const alpha = data[o + 3]! / 255;
      // Flattened on white, as the describer sees it: transparent pixels count as white.
      for (let c = 0; c < 3; c++) signature[p * 3 + c] = Math.round(data[o + c]! * alpha + 255 * (1 - alpha));
    }
    signatures.push(signature);
  }
  return signatures;
}
