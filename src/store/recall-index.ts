/**
 * The RecallIndex port: what recall needs from the database. SQLite +
 * sqlite-vec implements it in recall-queries.ts; a pgvector store can
 * implement the same calls.
 */

/** Every filter must hold; an empty `tags` list means no tag filter. */
export interface RecallFilters {
  tags: string[];
  category?: string;
  /** true: animated only; false: static only. */
  animated?: boolean;
  /** memes.source_type, or any source the image was also seen in. */
  source?: string;
}

export interface CollectionInfo {
  name: string;
  dims: number;
  model: string;
  /** Vectors stored in the collection. */
  size: number;
  /** Whether the quantised companion tables exist (dimension a multiple of 8). */
  fast: boolean;
}

export interface VectorHit {
  memeId: number;
  /** Cosine distance, 0..2; similarity = 1 − distance. */
  distance: number;
}

export type VectorMethod = 'exact' | 'quantized';

export interface VectorSearchResult {
  hits: VectorHit[];
  method: VectorMethod;
  /** Candidates rescored (quantised path) or rows considered (exact path over a filtered set). */
  candidates: number;
}

export interface VectorSearchOptions {
  /** Force the exact float32 KNN. */
  exact?: boolean;
  /** Collections smaller than this are searched exactly (default EXACT_BELOW). */
  exactBelow?: number;
  /** Candidates fetched by the coarse pass per result (default OVERFETCH). */
  overfetch?: number;
}

export interface KeywordHit {
  memeId: number;
  /** BM25 relevance, negated from FTS5's bm25() so that higher is better. */
  bm25: number;
  /** The meme's caption is exactly the query (compared as indexed terms). */
  exact: boolean;
}

/** What the keyword index knows about terms (as fts-terms.ts indexes them), for IDF weighting. */
export interface TermStatistics {
  /** Memes in the keyword index. */
  documents: number;
  /** Memes holding each term; a term the library never saw is absent (0). */
  frequencies: Map<string, number>;
}

export interface RecalledMeme {
  id: number;
  md5: string;
  storageKey: string;
  category: string;
  tags: string[];
  isAnimated: boolean;
  sourceType: string;
  description: string;
  ocrText: string;
  /** The memes_fts columns (indexed terms), to explain keyword matches. */
  indexedTerms: string[];
}

export interface RecallIndex {
  collection(name: string): CollectionInfo | undefined;
  vectorSearch(
    collection: CollectionInfo,
    vector: Float32Array,
    k: number,
    filters: RecallFilters,
    options?: VectorSearchOptions,
  ): VectorSearchResult;
  /**
   * `match` is an FTS5 expression built by fts-terms.ts `matchExpression`; `exactTerms`
   * (the query's `indexTerms`) marks and ranks first captions that are exactly the query.
   */
  keywordSearch(match: string, k: number, filters: RecallFilters, exactTerms?: string): KeywordHit[];
  memes(ids: readonly number[]): Map<number, RecalledMeme>;
  /** Document frequencies of the given terms and the document count, read live from the keyword index. */
  documentFrequencies(terms: readonly string[]): Promise<TermStatistics>;
}
