/**
 * Plane geometry for text boxes: convex hull, minimum-area rectangle and the
 * corner orders PaddleOCR's post-processing uses. Pure; points are [x, y].
 */

export type Point = [number, number];
/** Four corners: left-top, right-top, right-bottom, left-bottom (as `orderBox` gives them). */
export type Quad = [Point, Point, Point, Point];

const cross = (o: Point, a: Point, b: Point): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);

/** Convex hull (Andrew's monotone chain), counter-clockwise in image coordinates, no collinear points. */
export function convexHull(points: readonly Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (sorted.length < 3) return sorted;
  const lower: Point[] = [];
  for (const p of sorted) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = sorted.length - 1; i >= 0; i--) {
    const p = sorted[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) upper.pop();
    upper.push(p);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}

export interface Rect {
  /** The four corners, in order around the rectangle. */
  corners: Point[];
  /** Length of the shorter side. */
  shortSide: number;
  width: number;
  height: number;
}

/**
 * The smallest-area rectangle enclosing the points (rotating calipers over
 * the hull's edges), as OpenCV's minAreaRect finds it.
 */
export function minAreaRect(points: readonly Point[]): Rect {
  const hull = convexHull(points);
  if (hull.length === 0) return { corners: [], shortSide: 0, width: 0, height: 0 };
  if (hull.length < 3) {
    // A point or a segment: a rectangle of zero height along it.
    const [a, b = a] = hull as [Point, Point?];
    const length = Math.hypot(b![0] - a[0], b![1] - a[1]);
    return { corners: [a, b!, b!, a], shortSide: 0, width: length, height: 0 };
  }
  let best: { area: number; ux: number; uy: number; min: [number, number]; max: [number, number] } | undefined;
  for (let i = 0; i < hull.length; i++) {
    const p = hull[i]!;
    const q = hull[(i + 1) % hull.length]!;
    const length = Math.hypot(q[0] - p[0], q[1] - p[1]);
    const ux = (q[0] - p[0]) / length;
    const uy = (q[1] - p[1]) / length;
    let minU = Infinity, maxU = -Infinity, minV = Infinity, maxV = -Infinity;
    for (const r of hull) {
      const u = r[0] * ux + r[1] * uy;
      const v = -r[0] * uy + r[1] * ux;
      minU = Math.min(minU, u);
      maxU = Math.max(maxU, u);
      minV = Math.min(minV, v);
      maxV = Math.max(maxV, v);
    }
    const area = (maxU - minU) * (maxV - minV);
    if (!best || area < best.area - 1e-9) best = { area, ux, uy, min: [minU, minV], max: [maxU, maxV] };
  }
  const { ux, uy, min, max } = best!;
  const at = (u: number, v: number): Point => [u * ux - v * uy, u * uy + v * ux];
  const width = max[0] - min[0];
  const height = max[1] - min[1];
  return {
    corners: [at(min[0], min[1]), at(max[0], min[1]), at(max[0], max[1]), at(min[0], max[1])],
    shortSide: Math.min(width, height),
    width,
    height,
  };
}

/**
 * PaddleOCR's corner order for a box (get_mini_boxes): of the two leftmost
 * corners the upper is first and the lower last; of the two rightmost the
 * upper is second and the lower third.
 */
export function orderBox(corners: readonly Point[]): Quad {
  const p = [...corners].sort((a, b) => a[0] - b[0]) as Quad;
  const [first, fourth] = p[1][1] > p[0][1] ? [p[0], p[1]] : [p[1], p[0]];
  const [second, third] = p[3][1] > p[2][1] ? [p[2], p[3]] : [p[3], p[2]];
  return [first, second, third, fourth];
}

export function distance(a: Point, b: Point): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

/** Shoelace area (absolute) and perimeter of a polygon. */
export function areaAndPerimeter(polygon: readonly Point[]): { area: number; perimeter: number } {
  let area = 0;
  let perimeter = 0;
  for (let i = 0; i < polygon.length; i++) {
    const a = polygon[i]!;
    const b = polygon[(i + 1) % polygon.length]!;
    area += a[0] * b[1] - a[1] * b[0];
    perimeter += distance(a, b);
  }
  return { area: Math.abs(area) / 2, perimeter };
}
