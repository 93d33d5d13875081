/**
 * The recall result as callers read it: `recall --json`, the HTTP API
 * (`/api/recall`) and `openLibrary().recall` return this one shape
 * (documented in docs/recall.md; the test suite holds it to a zod schema).
 */
import type { RecallResult } from '../pipeline/recall-service.js';

/** `objectUrl` replaces each result's `url` (serve points it at its own /objects route). */
export function recallJson(r: RecallResult, objectUrl?: (storageKey: string) => string) {
  return {
    query: r.query,
    /** A query picture was searched (recall --image, an image sent to the API). */
    picture: r.picture,
    /** Hits folded into a better-ranked copy of the same meme (see `duplicates`). */
    collapsed: r.collapsed,
    mode: r.mode,
    collection: r.collection,
    partial: r.partial,
    reason: r.reason ?? null,
    failed: r.failed,
    terms: r.terms,
    characters: r.characters,
    expansions: r.expansions.map((e) => ({ term: e.term, for: e.for, source: e.source, weight: e.weight })),
    vector_method: r.vectorMethod ?? null,
    candidates: r.candidates ?? null,
    errors: r.errors,
    timings_ms: r.timings,
    results: r.hits.map((h) => ({
      rank: h.rank,
      meme_id: h.memeId,
      md5: h.md5,
      storage_key: h.storageKey,
      url: objectUrl ? objectUrl(h.storageKey) : h.url,
      score: h.score,
      scores: { vector: h.vectorSimilarity, keyword: h.keywordBm25, fused: h.fused, image: h.imageSimilarity },
      explain: {
        vector_rank: h.vectorRank,
        image_rank: h.imageRank,
        keyword_rank: h.keywordRank,
        matched_terms: h.matchedTerms,
        matched_characters: h.matchedCharacters,
        matched_expansions: h.matchedExpansions,
        exact_caption: h.exactCaption,
        keyword_parts: h.keywordParts,
        contributions: h.contributions,
      },
      description: h.description,
      ocr_text: h.ocrText,
      tags: h.tags,
      category: h.category,
      is_animated: h.isAnimated,
      /** Ids of the copies folded into this hit (same picture and caption); empty with --all-duplicates. */
      duplicates: h.duplicates,
    })),
  };
}

export type RecallJson = ReturnType<typeof recallJson>;
