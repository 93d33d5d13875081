/**
 * The offline picture signature: what the `local` embedder with `input:
 * image` stores instead of a model's image vector. Honest about what it is:
 * a description of the picture's layout and colours, not of its meaning. It
 * finds re-encodes, resizes, light crops, watermarks and re-captions of one
 * picture (measured in BENCHMARKS.md), not "another cat".
 *
 * Four blocks, each scaled to unit length and weighed, then the whole
 * normalised, so cosine similarity is the weighed mean of the blocks':
 *   94  low DCT frequencies of the picture zone's grey levels (its layout;
 *       frame-regions.ts leaves the caption zones out)          weight 1
 *   48  the picture zone's colours: a 4×4 grid, median CIELAB per cell
 *       (medians, so text and thin lines do not shift a cell)     weight 1
 *   48  the same grid over the whole frame (a caption band's colour) 0.5
 *    2  the frame's aspect ratio, as an angle                      0.7
 * Mirroring keeps the colours but not the layout: a mirror is similar, not equal.
 */
import { LOCAL_PICTURE_DIMENSIONS } from '../config/limits.js';
import { colourGrid } from './colour-grid.js';
import { lowFrequencies } from './dct.js';
import { frameRegions, luminance, type FrameRegions } from './frame-regions.js';
import type { ImageLimits } from './probe.js';

export const SIGNATURE_DIMENSIONS = LOCAL_PICTURE_DIMENSIONS;
const LAYOUT = 94;
const GRID = 4;
const WEIGHTS = { layout: 1, colours: 1, frameColours: 0.5, aspect: 0.7 };
/** How fast the aspect block turns with log(height / width): 0.05 apart is still 0.97 alike. */
const ASPECT_TURN = 5;

/** The signature of an image file's first frame (decodes it: check the pixel limit first). */
export async function pictureSignature(bytes: Buffer, limits: ImageLimits): Promise<Float32Array> {
  return signatureOfRegions(await frameRegions(bytes, limits));
}

/** Pure. */
export function signatureOfRegions(regions: FrameRegions): Float32Array {
  const angle = ASPECT_TURN * Math.log(regions.aspect);
  const blocks: Array<[ArrayLike<number>, number]> = [
    [lowFrequencies(luminance(regions.picture), LAYOUT), WEIGHTS.layout],
    [colours(regions.picture), WEIGHTS.colours],
    [colours(regions.whole), WEIGHTS.frameColours],
    [[Math.cos(angle), Math.sin(angle)], WEIGHTS.aspect],
  ];
  const out = new Float32Array(SIGNATURE_DIMENSIONS);
  let at = 0;
  for (const [block, weight] of blocks) {
    let norm = 0;
    for (let i = 0; i < block.length; i++) norm += block[i]! * block[i]!;
    const scale = norm > 0 ? weight / Math.sqrt(norm) : 0;
    for (let i = 0; i < block.length; i++) out[at++] = block[i]! * scale;
  }
  let norm = 0;
  for (const x of out) norm += x * x;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < out.length; i++) out[i]! *= scale;
  return out;
}

/** The GRID×GRID colour layout as numbers of about -1..1. */
function colours(rgb: Uint8Array): number[] {
  return colourGrid(rgb, GRID, 'median').flatMap(([l, a, b]) => [l / 100, a / 100, b / 100]);
}
