/**
 * The keyword side of recall: one BM25 search per tier of the weighed query
 * (its own terms, backoff characters, the expansions of each expanded word;
 * see lexicon/query-plan.ts), summed with the tiers' weights. BM25 is additive over terms, so this is
 * BM25 with a weight per term, which FTS5 cannot express in one query.
 * A caption that is exactly the query still ranks first.
 */
import type { KeywordTier, KeywordTierKind } from '../lexicon/query-plan.js';
import type { KeywordHit, RecallFilters, RecallIndex } from '../store/ports.js';

export type KeywordParts = Record<KeywordTierKind, number>;

export interface WeighedKeywordHit extends KeywordHit {
  /** What each kind of tier added (its weight times its BM25 score); `bm25` is their sum. */
  parts: KeywordParts;
}

export async function searchKeywords(
  index: Pick<RecallIndex, 'keywordSearch'>,
  tiers: readonly KeywordTier[],
  depth: number,
  filters: RecallFilters,
): Promise<WeighedKeywordHit[]> {
  const merged = new Map<number, WeighedKeywordHit>();
  const found = await Promise.all(tiers.map((tier) => index.keywordSearch(tier.query, depth, filters)));
  for (const [i, tier] of tiers.entries()) {
    for (const hit of found[i]!) {
      let entry = merged.get(hit.memeId);
      if (!entry) {
        entry = { memeId: hit.memeId, bm25: 0, exact: false, parts: { query: 0, characters: 0, expansions: 0 } };
        merged.set(hit.memeId, entry);
      }
      entry.parts[tier.kind] += tier.weight * hit.bm25;
      entry.bm25 += tier.weight * hit.bm25;
      entry.exact ||= hit.exact;
    }
  }
  return [...merged.values()]
    .sort((a, b) => Number(b.exact) - Number(a.exact) || b.bm25 - a.bm25 || a.memeId - b.memeId)
    .slice(0, depth);
}
