/**
 * Which frames of an animation to read: the pure half of frame selection,
 * working on small "signatures" (tiny downscaled frames), so it is tested
 * without decoding anything.
 *
 * Farthest-point sampling: start from the first frame, then repeatedly take
 * the frame that differs most from every frame taken so far, until the cap is
 * reached or no frame differs enough to be worth reading. A caption that
 * changes, appears or disappears makes its frames stand apart, so they are
 * taken; a near-still animation (a blink, a shimmer) stops at one frame and
 * costs what a still costs. Measured on the real memes: every GIF whose
 * caption changes between frames had all its captions within 4 frames.
 */

/** Mean absolute difference, 0..255, below which two frames count as the same picture. */
export const DEFAULT_MIN_CHANGE = 6;

/** One frame as a flat array of channel values (0..255), all of the same length. */
export type FrameSignature = ArrayLike<number>;

export interface PickOptions {
  /** At most this many frames (at least 1). */
  maxFrames: number;
  /** Mean absolute difference (0..255) a frame must have from every chosen one. */
  minChange?: number;
}

/** Mean absolute difference of two signatures, 0..255. */
export function frameDistance(a: FrameSignature, b: FrameSignature): number {
  if (a.length !== b.length) throw new RangeError(`signatures differ in length: ${a.length} and ${b.length}`);
  if (a.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** Indices of the frames to read, in playing order; always starts with 0 (when there are frames). */
export function pickFrames(signatures: readonly FrameSignature[], options: PickOptions): number[] {
  const n = signatures.length;
  if (n === 0) return [];
  const minChange = options.minChange ?? DEFAULT_MIN_CHANGE;
  const chosen = [0];
  // nearest[i]: distance from frame i to the closest chosen frame.
  const nearest = signatures.map((s) => frameDistance(s, signatures[0]!));
  while (chosen.length < options.maxFrames) {
    let best = 0;
    for (let i = 1; i < n; i++) if (nearest[i]! > nearest[best]!) best = i;
    // Ties go to the earliest frame, so the choice is deterministic.
    if (nearest[best]! < minChange) break;
    chosen.push(best);
    for (let i = 0; i < n; i++) nearest[i] = Math.min(nearest[i]!, frameDistance(signatures[i]!, signatures[best]!));
  }
  return chosen.sort((a, b) => a - b);
}
