/**
 * From the text detector's probability map to text boxes: PaddleOCR's DB
 * post-processing as @gutenye/ocr-common does it (threshold 0.03, min-area
 * rectangle of each region, "unclip" by 1.5 x area / perimeter, boxes with a
 * short side under 5 px or a side of 3 px or less dropped), in plain
 * TypeScript on typed arrays instead of OpenCV's WebAssembly build. Pure.
 *
 * A region is an 8-connected set of pixels above the threshold (OpenCV
 * traces the same borders); the rectangle of its pixels is the rectangle of
 * its border. Holes inside a region are not boxes of their own here.
 */
import { areaAndPerimeter, minAreaRect, orderBox, distance, type Point, type Quad } from './geometry.js';

/** Probability above which a pixel is text. */
const THRESHOLD = 0.03;
/** Regions whose rectangle has a shorter side below this are noise. */
const MIN_SIDE = 3;
const UNCLIP_RATIO = 1.5;
/** The clipper library's default arc tolerance, in pixels. */
const ARC_TOLERANCE = 0.25;

/** Text boxes (corners rounded to whole pixels, inside the image) in the map's coordinates. */
export function textBoxes(probabilities: ArrayLike<number>, width: number, height: number): Quad[] {
  const boxes: Quad[] = [];
  for (const region of regions(probabilities, width, height)) {
    const rect = minAreaRect(region);
    if (rect.shortSide < MIN_SIDE) continue;
    const expanded = minAreaRect(unclip(orderBox(rect.corners)));
    if (expanded.shortSide < MIN_SIDE + 2) continue;
    const box = orderBox(expanded.corners).map(([x, y]): Point => [clamp(Math.round(x), 0, width), clamp(Math.round(y), 0, height)]) as Quad;
    if (Math.trunc(distance(box[0], box[1])) <= 3 || Math.trunc(distance(box[0], box[3])) <= 3) continue;
    boxes.push(box);
  }
  return boxes;
}

/**
 * The outline points of each 8-connected region above the threshold, in the
 * order their first pixel is met scanning rows top to bottom: each row's
 * leftmost and rightmost pixel, which is all a convex hull needs.
 */
function regions(probabilities: ArrayLike<number>, width: number, height: number): Point[][] {
  const label = new Int32Array(width * height).fill(-1);
  const result: Point[][] = [];
  const stack: number[] = [];
  for (let start = 0; start < width * height; start++) {
    if (label[start] !== -1 || !(probabilities[start]! > THRESHOLD)) continue;
    const id = result.length;
    // Per row of the region: [leftmost x, rightmost x].
    const rows = new Map<number, [number, number]>();
    label[start] = id;
    stack.push(start);
    while (stack.length > 0) {
      const at = stack.pop()!;
      const x = at % width;
      const y = (at - x) / width;
      const row = rows.get(y);
      if (!row) rows.set(y, [x, x]);
      else if (x < row[0]) row[0] = x;
      else if (x > row[1]) row[1] = x;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width || (dx === 0 && dy === 0)) continue;
          const next = ny * width + nx;
          if (label[next] === -1 && probabilities[next]! > THRESHOLD) {
            label[next] = id;
            stack.push(next);
          }
        }
      }
    }
    const outline: Point[] = [];
    for (const [y, [left, right]] of rows) outline.push([left, y], [right, y]);
    result.push(outline);
  }
  return result;
}

/**
 * The box grown by `UNCLIP_RATIO x area / perimeter` on every side, with
 * round corners: the points the clipper library's polygon offset (round
 * joins, arc tolerance 0.25) gives PaddleOCR, in its whole-pixel coordinates.
 * Only their minimum-area rectangle is used.
 */
function unclip(box: Quad): Point[] {
  const { area, perimeter } = areaAndPerimeter(box);
  if (perimeter === 0) return [...box];
  const delta = (area * UNCLIP_RATIO) / perimeter;
  // The clipper turns a polygon of negative orientation around before offsetting.
  let signed = 0;
  for (let i = 0, j = box.length - 1; i < box.length; j = i++) signed += (box[j]![0] + box[i]![0]) * (box[j]![1] - box[i]![1]);
  const poly = -signed * 0.5 >= 0 ? [...box] : [...box].reverse();
  const normals = poly.map((p, i) => unitNormal(p, poly[(i + 1) % poly.length]!));
  const tolerance = Math.min(ARC_TOLERANCE, delta * ARC_TOLERANCE);
  const stepsPerTurn = Math.PI / Math.acos(1 - tolerance / delta);
  const [sin, cos] = [Math.sin((2 * Math.PI) / stepsPerTurn), Math.cos((2 * Math.PI) / stepsPerTurn)];
  const out: Point[] = [];
  const push = (p: Point, x: number, y: number) => out.push([clipperRound(p[0] + x * delta), clipperRound(p[1] + y * delta)]);
  for (let j = 0, k = poly.length - 1; j < poly.length; j++) {
    const [nk, nj, p] = [normals[k]!, normals[j]!, poly[j]!];
    const sinA = Math.max(-1, Math.min(1, nk[0] * nj[1] - nj[0] * nk[1]));
    if (Math.abs(sinA) < 0.00005) continue; // collinear: no join, and k stays
    const angle = Math.atan2(sinA, nk[0] * nj[0] + nk[1] * nj[1]);
    let [x, y] = nk;
    for (let step = clipperRound((stepsPerTurn / (2 * Math.PI)) * Math.abs(angle)); step > 0; step--) {
      push(p, x, y);
      [x, y] = [x * cos - sin * y, x * sin + y * cos];
    }
    push(p, nj[0], nj[1]);
    k = j;
  }
  return out;
}

/** The clipper's unit normal of the edge a→b: (dy, -dx) / length. */
function unitNormal(a: Point, b: Point): Point {
  const length = distance(a, b);
  return length === 0 ? [0, 0] : [(b[1] - a[1]) / length, -(b[0] - a[0]) / length];
}

/** Rounding half away from zero, as the clipper library rounds. */
function clipperRound(v: number): number {
  return v < 0 ? Math.ceil(v - 0.5) : Math.floor(v + 0.5);
}

function clamp(v: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, v));
}
