/**
 * Coarse colour layout: the CIELAB colour of each cell of a grid laid over
 * 32×32 RGB, as the median of the cell (text and thin lines do not move it)
 * or its mean (a cell half face, half background does not flip between the
 * two when the picture shifts a little). CIELAB, so distances are roughly
 * what the eye sees (ΔE). Pure.
 */

/** [L, a, b] per cell, row by row: L 0..100, a and b about -128..127. */
export function colourGrid(rgb: Uint8Array, grid: number, statistic: 'median' | 'mean'): Array<[number, number, number]> {
  const side = Math.round(Math.sqrt(rgb.length / 3));
  const cell = side / grid;
  const out: Array<[number, number, number]> = [];
  const reduce =
    statistic === 'median'
      ? (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1]!
      : (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  for (let gy = 0; gy < grid; gy++) {
    for (let gx = 0; gx < grid; gx++) {
      const channels: [number[], number[], number[]] = [[], [], []];
      for (let y = Math.floor(gy * cell); y < Math.floor((gy + 1) * cell); y++) {
        for (let x = Math.floor(gx * cell); x < Math.floor((gx + 1) * cell); x++) {
          for (let c = 0; c < 3; c++) channels[c]!.push(rgb[(y * side + x) * 3 + c]!);
        }
      }
      out.push(lab(reduce(channels[0]), reduce(channels[1]), reduce(channels[2])));
    }
  }
  return out;
}

/** sRGB (0..255) to CIELAB under D65. */
export function lab(r: number, g: number, b: number): [number, number, number] {
  const linear = (c: number) => ((c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  const [R, G, B] = [linear(r), linear(g), linear(b)];
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
  const x = f((0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047);
  const y = f(0.2126 * R + 0.7152 * G + 0.0722 * B);
  const z = f((0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883);
  return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
}

/** A 2×2 layout as 24 hex digits: per cell L×2.55, a+128, b+128, one byte each. */
export function encodeColours(cells: ReadonlyArray<readonly [number, number, number]>): string {
  const byte = (v: number) => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, '0');
  return cells.map(([l, a, b]) => byte(l * 2.55) + byte(a + 128) + byte(b + 128)).join('');
}

/** Bytes of an encoded 2×2 layout (encodeColours): 4 cells of L×2.55, a+128, b+128. */
export const COLOUR_BYTES = 12;

/** ΔE (CIE76) between two encoded cells given as their bytes. */
function cellDistance(l1: number, a1: number, b1: number, l2: number, a2: number, b2: number): number {
  return Math.hypot((l1 - l2) / 2.55, a1 - a2, b1 - b2);
}

const byte = (hex: string, i: number) => parseInt(hex.slice(i, i + 2), 16);

/** The largest colour difference (ΔE, CIE76) between matching cells of two encoded layouts. */
export function colourDistance(a: string, b: string): number {
  let worst = 0;
  for (let i = 0; i < a.length; i += 6) {
    worst = Math.max(worst, cellDistance(byte(a, i), byte(a, i + 2), byte(a, i + 4), byte(b, i), byte(b, i + 2), byte(b, i + 4)));
  }
  return worst;
}

/** Writes an encoded layout's COLOUR_BYTES bytes at `offset`; false when it is not one (left as is). */
export function packColours(hex: string, out: Uint8Array, offset: number): boolean {
  if (!/^[0-9a-f]{24}$/i.test(hex)) return false;
  for (let i = 0; i < COLOUR_BYTES; i++) out[offset + i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return true;
}

/** colourDistance of two layouts packed by packColours in one array, at layouts `a` and `b`. */
export function packedColourDistance(packed: Uint8Array, a: number, b: number): number {
  let worst = 0;
  const [pa, pb] = [a * COLOUR_BYTES, b * COLOUR_BYTES];
  for (let i = 0; i < COLOUR_BYTES; i += 3) {
    worst = Math.max(worst, cellDistance(packed[pa + i]!, packed[pa + i + 1]!, packed[pa + i + 2]!, packed[pb + i]!, packed[pb + i + 1]!, packed[pb + i + 2]!));
  }
  return worst;
}
