/**
 * The results of recall: the fused or one-sided ranking of meme ids, and each
 * hit described for the caller, with what explains it (per-side ranks and
 * scores, each ranker's share of the fused score, the keyword score per tier,
 * and the query terms, characters and expansions its text holds). A query
 * picture (`recall --image`) is one more ranked list.
 */
import type { Expansion } from '../lexicon/thesaurus.js';
import type { ObjectStorage } from '../ports.js';
import { holdsPhrase, indexedSet, matchedTerms } from '../store/fts-terms.js';
import type { RecallIndex, VectorHit } from '../store/ports.js';
import type { KeywordParts, WeighedKeywordHit } from './keyword-search.js';
import type { RecallMode } from './recall-service.js';
import { reciprocalRankFusion, RRF_K } from './rrf.js';

export interface RecallHit {
  rank: number;
  memeId: number;
  md5: string;
  storageKey: string;
  url: string;
  /** The ranking score: fused (hybrid), similarity (vector) or BM25 (keyword). */
  score: number;
  vectorSimilarity: number | null;
  vectorRank: number | null;
  /** Similarity to the query picture, and rank among the picture's neighbours. */
  imageSimilarity: number | null;
  imageRank: number | null;
  keywordBm25: number | null;
  keywordRank: number | null;
  fused: number | null;
  /** What each ranker added to `fused` (hybrid only; `image` with a query picture). */
  contributions: { vector: number; keyword: number; exact: number; image?: number } | null;
  /** Lower-ranked copies of this meme (same picture and caption) folded into it. */
  duplicates: number[];
  /** What each keyword tier added to `keywordBm25`: own terms, backoff characters, expansions. */
  keywordParts: KeywordParts | null;
  matchedTerms: string[];
  matchedCharacters: string[];
  matchedExpansions: Expansion[];
  /** The caption is exactly the query. */
  exactCaption: boolean;
  description: string;
  ocrText: string;
  tags: string[];
  category: string;
  isAnimated: boolean;
}

export interface Ranked {
  memeId: number;
  score: number;
  fused: number | null;
  vector?: { rank: number; similarity: number };
  image?: { rank: number; similarity: number };
  keyword?: { rank: number; hit: WeighedKeywordHit };
  /** Rank among captions that are exactly the query. */
  exactRank?: number;
}

/**
 * Orders the ids: RRF when both text sides ran in hybrid mode, or when a
 * query picture was searched beside a text query; otherwise the one side's order.
 * `imageHits` is undefined without a query picture.
 */
export function rankHits(mode: RecallMode, vectorHits: VectorHit[], keywordHits: WeighedKeywordHit[], imageHits?: VectorHit[], withText = true): Ranked[] {
  const similarities = (hits: VectorHit[]) => new Map(hits.map((h, i) => [h.memeId, { rank: i + 1, similarity: 1 - h.distance }]));
  const vec = similarities(vectorHits);
  const img = similarities(imageHits ?? []);
  const kw = new Map(keywordHits.map((h, i) => [h.memeId, { rank: i + 1, hit: h }]));
  // The third ranker of hybrid: "the caption is exactly the query" (usually empty).
  const exact = keywordHits.filter((h) => h.exact).map((h) => h.memeId);
  const exactRank = new Map(exact.map((id, i) => [id, i + 1]));
  const sides = (id: number) => ({ vector: vec.get(id), image: img.get(id), keyword: kw.get(id), exactRank: exactRank.get(id) });
  if (imageHits && !withText) {
    return imageHits.map((h) => ({ memeId: h.memeId, score: 1 - h.distance, fused: null, ...sides(h.memeId) }));
  }
  if (mode === 'hybrid' || imageHits) {
    const lists = [vectorHits.map((h) => h.memeId), keywordHits.map((h) => h.memeId), exact, (imageHits ?? []).map((h) => h.memeId)];
    return reciprocalRankFusion(lists, RRF_K).map((f) => ({ memeId: f.id, score: f.score, fused: f.score, ...sides(f.id) }));
  }
  if (mode === 'vector') {
    return vectorHits.map((h) => ({ memeId: h.memeId, score: 1 - h.distance, fused: null, ...sides(h.memeId) }));
  }
  return keywordHits.map((h) => ({ memeId: h.memeId, score: h.bm25, fused: null, ...sides(h.memeId) }));
}

const rrf = (rank: number | undefined) => (rank === undefined ? 0 : 1 / (RRF_K + rank));

/** The ranked memes with what the caller shows: their rows, URL, scores and what matched. */
export async function describeHits(
  deps: { index: Pick<RecallIndex, 'recalledMemes'>; storage: Pick<ObjectStorage, 'url'> },
  ranked: ReadonlyArray<Ranked & { duplicates?: number[] }>,
  searched: { terms: string[]; characters: string[]; expansions: Expansion[]; picture?: boolean },
): Promise<RecallHit[]> {
  const memes = await deps.index.recalledMemes(ranked.map((r) => r.memeId));
  const hits: RecallHit[] = [];
  for (const r of ranked) {
    const m = memes.get(r.memeId);
    if (!m) continue; // a vector whose meme row is gone (verify --repair cleans these up)
    const present = indexedSet(m.indexedTerms);
    hits.push({
      rank: hits.length + 1,
      memeId: m.id,
      md5: m.md5,
      storageKey: m.storageKey,
      url: deps.storage.url(m.storageKey),
      score: r.score,
      vectorSimilarity: r.vector?.similarity ?? null,
      vectorRank: r.vector?.rank ?? null,
      imageSimilarity: r.image?.similarity ?? null,
      imageRank: r.image?.rank ?? null,
      keywordBm25: r.keyword?.hit.bm25 ?? null,
      keywordRank: r.keyword?.rank ?? null,
      fused: r.fused,
      contributions:
        r.fused === null
          ? null
          : { vector: rrf(r.vector?.rank), keyword: rrf(r.keyword?.rank), exact: rrf(r.exactRank), ...(searched.picture ? { image: rrf(r.image?.rank) } : {}) },
      duplicates: r.duplicates ?? [],
      keywordParts: r.keyword?.hit.parts ?? null,
      matchedTerms: matchedTerms(searched.terms, present),
      matchedCharacters: matchedTerms(searched.characters, present),
      matchedExpansions: searched.expansions
        .filter((e) => holdsPhrase(e.term, present))
        .map(({ term, for: stands, source }) => ({ term, for: stands, source })),
      exactCaption: r.keyword?.hit.exact ?? false,
      description: m.description,
      ocrText: m.ocrText,
      tags: m.tags,
      category: m.category,
      isAnimated: m.isAnimated,
    });
  }
  return hits;
}
