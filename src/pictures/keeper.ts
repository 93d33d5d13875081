/**
 * Which copy of a duplicate group is kept: the largest picture (pixels),
 * then a lossless format (PNG, GIF: re-encoding never made them worse), then
 * the oldest (the first seen; then the lowest id). Pure.
 */
export interface KeeperFacts {
  id: number;
  width: number;
  height: number;
  format: string;
  createdAt: string;
}

const LOSSLESS = new Set(['png', 'gif']);
const pixels = (m: KeeperFacts) => m.width * m.height;
const lossless = (m: KeeperFacts) => LOSSLESS.has(m.format);

/** Negative when `a` is the better copy to keep. */
export function compareKeepers(a: KeeperFacts, b: KeeperFacts): number {
  return (
    pixels(b) - pixels(a) ||
    Number(lossless(b)) - Number(lossless(a)) ||
    (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0) ||
    a.id - b.id
  );
}

/** Why `kept` won over the others, in words: the first rule that decided it. */
export function keeperReason(kept: KeeperFacts, others: readonly KeeperFacts[]): string {
  if (others.every((o) => pixels(o) < pixels(kept))) return `largest (${kept.width}×${kept.height})`;
  const sameSize = others.filter((o) => pixels(o) === pixels(kept));
  if (lossless(kept) && sameSize.every((o) => !lossless(o))) return `lossless (${kept.format}) at the largest size`;
  return 'oldest of the largest copies';
}
