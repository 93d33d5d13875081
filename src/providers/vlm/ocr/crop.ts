/**
 * Cutting one text line out of the detector's input picture: the box is
 * mapped onto an upright rectangle (a perspective warp with bicubic
 * sampling and replicated borders, as OpenCV's warpPerspective does it), and
 * a line taller than 1.5 x its width is turned a quarter turn to lie flat.
 * Pure; pictures are RGBA.
 */
import { distance, type Point, type Quad } from './geometry.js';

export interface Rgba {
  data: Uint8Array;
  width: number;
  height: number;
}

export function cropLine(image: Rgba, box: Quad): Rgba {
  const width = Math.trunc(Math.max(distance(box[0], box[1]), distance(box[2], box[3])));
  const height = Math.trunc(Math.max(distance(box[0], box[3]), distance(box[1], box[2])));
  const target: Quad = [[0, 0], [width, 0], [width, height], [0, height]];
  const toSource = homography(target, box);
  const line = sample(image, width, height, (x, y) => project(toSource, x, y));
  if (height / width < 1.5) return line;
  // OpenCV's quarter turn about (w/2, w/2) as PaddleOCR.js calls it: output
  // pixel (x, y) comes from (w - y, x), the first row repeating the last column.
  return sample(line, line.height, line.width, (x, y) => [line.width - y, x]);
}

/** A new picture whose pixel (x, y) is `image` sampled at `from(x, y)`. */
function sample(image: Rgba, width: number, height: number, from: (x: number, y: number) => Point): Rgba {
  const data = new Uint8Array(Math.max(0, width * height * 4));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [sx, sy] = from(x, y);
      bicubic(image, sx, sy, data, (y * width + x) * 4);
    }
  }
  return { data, width: Math.max(0, width), height: Math.max(0, height) };
}

/** OpenCV's cubic kernel (a = -0.75) weights for a fractional offset t in [0, 1). */
function cubicWeights(t: number): [number, number, number, number] {
  const a = -0.75;
  const w0 = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a;
  const w1 = ((a + 2) * t - (a + 3)) * t * t + 1;
  const w2 = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1;
  return [w0, w1, w2, 1 - w0 - w1 - w2];
}

/** Bicubic sample at (x, y) with replicated borders; positions snap to 1/32 px as OpenCV's fixed point does. */
function bicubic(image: Rgba, x: number, y: number, out: Uint8Array, at: number): void {
  const fx = Math.round(x * 32) / 32;
  const fy = Math.round(y * 32) / 32;
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const wx = cubicWeights(fx - x0);
  const wy = cubicWeights(fy - y0);
  const { data, width, height } = image;
  for (let c = 0; c < 4; c++) {
    let sum = 0;
    for (let j = 0; j < 4; j++) {
      const row = Math.min(height - 1, Math.max(0, y0 - 1 + j)) * width;
      let rowSum = 0;
      for (let i = 0; i < 4; i++) rowSum += wx[i]! * data[(row + Math.min(width - 1, Math.max(0, x0 - 1 + i))) * 4 + c]!;
      sum += wy[j]! * rowSum;
    }
    out[at + c] = Math.min(255, Math.max(0, Math.round(sum)));
  }
}

type Matrix3 = [number, number, number, number, number, number, number, number, number];

/** The perspective transform mapping each `from` corner onto the matching `to` corner. */
function homography(from: Quad, to: Quad): Matrix3 {
  // Eight equations in h0..h7 (h8 = 1), solved by Gaussian elimination.
  const rows: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = from[i]!;
    const [u, v] = to[i]!;
    rows.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    rows.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  for (let col = 0; col < 8; col++) {
    let pivot = col;
    for (let r = col + 1; r < 8; r++) if (Math.abs(rows[r]![col]!) > Math.abs(rows[pivot]![col]!)) pivot = r;
    [rows[col], rows[pivot]] = [rows[pivot]!, rows[col]!];
    const p = rows[col]![col]!;
    if (Math.abs(p) < 1e-12) return [1, 0, 0, 0, 1, 0, 0, 0, 1]; // degenerate box: identity
    for (let r = 0; r < 8; r++) {
      if (r === col) continue;
      const f = rows[r]![col]! / p;
      for (let c = col; c < 9; c++) rows[r]![c]! -= f * rows[col]![c]!;
    }
  }
  const h = rows.map((row, i) => row[8]! / row[i]!);
  return [h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!, 1];
}

function project(m: Matrix3, x: number, y: number): Point {
  const w = m[6] * x + m[7] * y + m[8];
  return [(m[0] * x + m[1] * y + m[2]) / w, (m[3] * x + m[4] * y + m[5]) / w];
}
