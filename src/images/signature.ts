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
    [colourGrid(regions.picture), WEIGHTS.colours],
    [colourGrid(regions.whole), WEIGHTS.frameColours],
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

/** Median CIELAB (L/100, a/100, b/100) of each cell of a GRID×GRID split of 32×32 RGB. */
function colourGrid(rgb: Uint8Array): number[] {
  const side = Math.round(Math.sqrt(rgb.length / 3));
  const cell = side / GRID;
  const out: number[] = [];
  const channel = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1]!;
  for (let gy = 0; gy < GRID; gy++) {
    for (let gx = 0; gx < GRID; gx++) {
      const rs: number[] = [];
      const gs: number[] = [];
      const bs: number[] = [];
      for (let y = gy * cell; y < (gy + 1) * cell; y++) {
        for (let x = gx * cell; x < (gx + 1) * cell; x++) {
          const i = (y * side + x) * 3;
          rs.push(rgb[i]!);
          gs.push(rgb[i + 1]!);
          bs.push(rgb[i + 2]!);
        }
      }
      const [l, a, b] = lab(channel(rs), channel(gs), channel(bs));
      out.push(l / 100, a / 100, b / 100);
    }
  }
  return out;
}

/** sRGB (0..255) to CIELAB under D65. */
function lab(r: number, g: number, b: number): [number, number, number] {
  const linear = (c: number) => ((c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  const [R, G, B] = [linear(r), linear(g), linear(b)];
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  const x = f((0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047);
  const y = f(0.2126 * R + 0.7152 * G + 0.0722 * B);
  const z = f((0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883);
  return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
}
