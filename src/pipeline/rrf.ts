/**
 * Reciprocal rank fusion: score(d) = Σ 1 / (k + rank_i(d)) over the ranked
 * lists that contain d (ranks start at 1). It needs no score calibration
 * between BM25 and cosine similarity, which live on unrelated scales.
 */
export const RRF_K = 60;

export interface Fused<T> {
  id: T;
  score: number;
  /** 1-based rank in each input list, undefined where the list lacks the id. */
  ranks: Array<number | undefined>;
}

/** Fuses ranked id lists, best first; ties keep the order of first appearance (earlier lists first). */
export function reciprocalRankFusion<T>(lists: ReadonlyArray<readonly T[]>, k = RRF_K): Fused<T>[] {
  const fused = new Map<T, Fused<T>>();
  lists.forEach((list, which) => {
    list.forEach((id, index) => {
      let entry = fused.get(id);
      if (!entry) {
        entry = { id, score: 0, ranks: lists.map(() => undefined) };
        fused.set(id, entry);
      }
      if (entry.ranks[which] !== undefined) return; // a duplicate in one list counts once, at its best rank
      entry.ranks[which] = index + 1;
      entry.score += 1 / (k + index + 1);
    });
  });
  // Array.prototype.sort is stable: equal scores keep insertion order.
  return [...fused.values()].sort((a, b) => b.score - a.score);
}
