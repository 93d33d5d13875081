/**
 * The low frequencies of a 32×32 channel's 2-D DCT-II, in JPEG zig-zag order
 * after DC (DC, the mean level, says nothing about the layout). Pure; shared
 * by the perceptual hash and the offline picture signature.
 */
export const DCT_SIDE = 32;

/** The first `count` frequencies after DC in JPEG zig-zag order: [u (vertical), v (horizontal)]. */
function zigzag(count: number): Array<readonly [number, number]> {
  const order: Array<[number, number]> = [];
  for (let d = 1; order.length < count; d++) {
    // JPEG alternates direction on each diagonal.
    for (let i = 0; i <= d && order.length < count; i++) order.push(d % 2 === 0 ? [d - i, i] : [i, d - i]);
  }
  return order;
}

/** The most coefficients any caller takes (the signature's 94); the tables cover them. */
const MAX_COUNT = 94;
const ORDER = zigzag(MAX_COUNT);
const MAX_FREQ = Math.max(...ORDER.map(([u, v]) => Math.max(u, v))) + 1;

/** cos((2x + 1) k π / 2N) for the frequencies used. */
const COS: Float64Array = (() => {
  const table = new Float64Array(MAX_FREQ * DCT_SIDE);
  for (let k = 0; k < MAX_FREQ; k++) {
    for (let x = 0; x < DCT_SIDE; x++) table[k * DCT_SIDE + x] = Math.cos(((2 * x + 1) * k * Math.PI) / (2 * DCT_SIDE));
  }
  return table;
})();

/** The first `count` (≤ 94) zig-zag DCT coefficients after DC of a row-major 32×32 channel. */
export function lowFrequencies(channel: ArrayLike<number>, count: number): Float64Array {
  if (channel.length !== DCT_SIDE * DCT_SIDE) throw new Error(`expected ${DCT_SIDE}x${DCT_SIDE} values, got ${channel.length}`);
  if (count > MAX_COUNT) throw new Error(`at most ${MAX_COUNT} coefficients`);
  // Rows first (horizontal frequencies v), then columns (vertical frequencies u): separable.
  const rows = new Float64Array(DCT_SIDE * MAX_FREQ);
  for (let y = 0; y < DCT_SIDE; y++) {
    for (let v = 0; v < MAX_FREQ; v++) {
      let sum = 0;
      for (let x = 0; x < DCT_SIDE; x++) sum += channel[y * DCT_SIDE + x]! * COS[v * DCT_SIDE + x]!;
      rows[y * MAX_FREQ + v] = sum;
    }
  }
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const [u, v] = ORDER[i]!;
    let sum = 0;
    for (let y = 0; y < DCT_SIDE; y++) sum += rows[y * MAX_FREQ + v]! * COS[u * DCT_SIDE + y]!;
    out[i] = sum;
  }
  return out;
}
