/**
 * Recall: vector similarity, BM25 keywords, or both fused by reciprocal rank,
 * with filters, a similarity threshold, top-k and a time budget. It never
 * throws for a failed side: a slow or broken embedding provider leaves the
 * keyword results, marked partial with the reason; the caller decides what
 * "nothing could be searched" means (the CLI exits non-zero).
 */
import { errorMessage } from '../errors.js';
import type { Embedder, ObjectStorage } from '../ports.js';
import { matchedTerms, queryTerms } from '../store/fts-terms.js';
import type { CollectionInfo, KeywordHit, RecallFilters, RecallIndex, VectorHit, VectorMethod } from '../store/ports.js';
import { reciprocalRankFusion, RRF_K } from './rrf.js';

export type RecallMode = 'hybrid' | 'vector' | 'keyword';
export const RECALL_MODES: readonly RecallMode[] = ['hybrid', 'vector', 'keyword'];

/** Each side fetches this many times top-k before fusion, so fusion can promote what one side ranks low. */
export const HYBRID_OVERFETCH = 4;

export interface RecallRequest {
  query: string;
  mode: RecallMode;
  topK: number;
  /** Minimum cosine similarity of vector hits (vector and hybrid modes). */
  threshold?: number;
  filters: RecallFilters;
  /** Budget for the query embedding; keyword search does not wait for it. */
  timeoutMs: number;
  /** Force the exact float32 KNN. */
  exact?: boolean;
}

export interface RecallDeps {
  index: RecallIndex;
  /** The collection searched and its embedder, built lazily: building it may fail (e.g. a missing key). */
  collection: string;
  embedder: () => Embedder;
  storage: Pick<ObjectStorage, 'url'>;
  redact?: (text: string) => string;
  signal?: AbortSignal;
}

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
  keywordBm25: number | null;
  keywordRank: number | null;
  fused: number | null;
  matchedTerms: string[];
  /** The caption is exactly the query. */
  exactCaption: boolean;
  description: string;
  ocrText: string;
  tags: string[];
  category: string;
  isAnimated: boolean;
}

export type RecallStage = 'embed' | 'vector' | 'keyword' | 'fetch';

export interface RecallResult {
  query: string;
  mode: RecallMode;
  collection: string;
  /** Some side the mode asked for could not run; `reason` says why. */
  partial: boolean;
  reason?: string;
  /** Nothing the mode asked for could be searched. */
  failed: boolean;
  terms: string[];
  vectorMethod?: VectorMethod;
  candidates?: number;
  errors: Array<{ stage: RecallStage; message: string }>;
  timings: Partial<Record<RecallStage | 'fuse', number>> & { total: number };
  hits: RecallHit[];
}

class Clock {
  private readonly start = performance.now();
  since(t: number): number {
    return Math.round((performance.now() - t) * 100) / 100;
  }
  now(): number {
    return performance.now();
  }
  total(): number {
    return this.since(this.start);
  }
}

export async function recall(deps: RecallDeps, req: RecallRequest): Promise<RecallResult> {
  const clock = new Clock();
  const redact = deps.redact ?? ((s: string) => s);
  const terms = queryTerms(req.query);
  const result: RecallResult = {
    query: req.query,
    mode: req.mode,
    collection: deps.collection,
    partial: false,
    failed: false,
    terms,
    errors: [],
    timings: { total: 0 },
    hits: [],
  };
  const fail = (stage: RecallStage, err: unknown) => result.errors.push({ stage, message: redact(errorMessage(err)) });
  const depth = req.mode === 'hybrid' ? req.topK * HYBRID_OVERFETCH : req.topK;
  const wantVector = req.mode !== 'keyword';
  const wantKeyword = req.mode !== 'vector';

  // Start the (possibly remote) query embedding first; keyword search runs while it is in flight.
  let coll: CollectionInfo | undefined;
  let embedding: Promise<Float32Array | undefined> = Promise.resolve(undefined);
  const tEmbed = clock.now();
  if (wantVector) {
    embedding = (async () => {
      coll = await deps.index.collectionInfo(deps.collection);
      if (!coll) throw new Error(`collection "${deps.collection}" has no vectors yet (run emomo ingest or emomo embed)`);
      return embedQuery(deps, req, coll);
    })();
    embedding.catch(() => undefined); // handled below; never an unhandled rejection
  }

  let keywordHits: KeywordHit[] | undefined;
  if (wantKeyword && terms.length > 0) {
    const t = clock.now();
    try {
      keywordHits = await deps.index.keywordSearch({ text: req.query }, depth, req.filters);
    } catch (err) {
      fail('keyword', err);
    }
    result.timings.keyword = clock.since(t);
  } else if (wantKeyword) {
    keywordHits = []; // nothing to look for in the text (punctuation only): searched, found nothing
  }

  let vectorHits: VectorHit[] | undefined;
  if (wantVector) {
    try {
      const vector = await embedding;
      result.timings.embed = clock.since(tEmbed);
      const t = clock.now();
      try {
        const found = await deps.index.vectorSearch(coll!.name, vector!, depth, req.filters, { exact: req.exact });
        vectorHits = found.hits.filter((h) => req.threshold === undefined || 1 - h.distance >= req.threshold);
        result.vectorMethod = found.method;
        result.candidates = found.candidates;
      } catch (err) {
        fail('vector', err);
      }
      result.timings.vector = clock.since(t);
    } catch (err) {
      result.timings.embed = clock.since(tEmbed);
      fail('embed', err);
    }
  }

  const searched = [wantVector && vectorHits, wantKeyword && keywordHits].filter(Boolean).length;
  const wanted = Number(wantVector) + Number(wantKeyword);
  result.failed = searched === 0;
  result.partial = !result.failed && searched < wanted;
  if (result.errors.length > 0) {
    result.reason = result.errors.map((e) => `${e.stage}: ${e.message}`).join('; ');
  }

  const t = clock.now();
  const ranked = rank(req, vectorHits ?? [], keywordHits ?? []).slice(0, req.topK);
  result.timings.fuse = clock.since(t);
  if (ranked.length > 0) {
    const tf = clock.now();
    try {
      result.hits = await describeHits(deps, ranked, terms);
    } catch (err) {
      fail('fetch', err);
      result.failed = true;
      result.reason = result.errors.map((e) => `${e.stage}: ${e.message}`).join('; ');
    }
    result.timings.fetch = clock.since(tf);
  }
  result.timings.total = clock.total();
  return result;
}

/** Embeds the query within the time budget; a late provider is aborted, not awaited. */
async function embedQuery(deps: RecallDeps, req: RecallRequest, coll: CollectionInfo): Promise<Float32Array> {
  const embedder = deps.embedder();
  const controller = new AbortController();
  const signals = deps.signal ? [controller.signal, deps.signal] : [controller.signal];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`query embedding did not answer within ${req.timeoutMs} ms (--timeout)`);
      controller.abort(err);
      reject(err);
    }, req.timeoutMs);
  });
  try {
    const [vector] = await Promise.race([embedder.embed([req.query], 'query', AbortSignal.any(signals)), timeout]);
    if (!vector || vector.length !== coll.dims) {
      throw new Error(
        `the embedder returned a ${vector?.length ?? 0}-dimensional vector; collection "${coll.name}" holds ${coll.dims}`,
      );
    }
    return vector;
  } finally {
    clearTimeout(timer);
  }
}

interface Ranked {
  memeId: number;
  score: number;
  fused: number | null;
  vector?: { rank: number; similarity: number };
  keyword?: { rank: number; bm25: number; exact: boolean };
}

/** Orders the ids: RRF when both sides ran in hybrid mode, otherwise the one side's order. */
function rank(req: RecallRequest, vectorHits: VectorHit[], keywordHits: KeywordHit[]): Ranked[] {
  const vec = new Map(vectorHits.map((h, i) => [h.memeId, { rank: i + 1, similarity: 1 - h.distance }]));
  const kw = new Map(keywordHits.map((h, i) => [h.memeId, { rank: i + 1, bm25: h.bm25, exact: h.exact }]));
  const sides = (id: number) => ({ vector: vec.get(id), keyword: kw.get(id) });
  if (req.mode === 'hybrid') {
    // Three rankers: vector, BM25, and "the caption is exactly the query" (usually empty).
    const exact = keywordHits.filter((h) => h.exact).map((h) => h.memeId);
    const lists = [vectorHits.map((h) => h.memeId), keywordHits.map((h) => h.memeId), exact];
    return reciprocalRankFusion(lists, RRF_K).map(
      (f) => ({ memeId: f.id, score: f.score, fused: f.score, ...sides(f.id) }),
    );
  }
  if (req.mode === 'vector') {
    return vectorHits.map((h) => ({ memeId: h.memeId, score: 1 - h.distance, fused: null, ...sides(h.memeId) }));
  }
  return keywordHits.map((h) => ({ memeId: h.memeId, score: h.bm25, fused: null, ...sides(h.memeId) }));
}

async function describeHits(deps: RecallDeps, ranked: Ranked[], terms: string[]): Promise<RecallHit[]> {
  const memes = await deps.index.recalledMemes(ranked.map((r) => r.memeId));
  const hits: RecallHit[] = [];
  for (const r of ranked) {
    const m = memes.get(r.memeId);
    if (!m) continue; // a vector whose meme row is gone (verify --repair cleans these up)
    hits.push({
      rank: hits.length + 1,
      memeId: m.id,
      md5: m.md5,
      storageKey: m.storageKey,
      url: deps.storage.url(m.storageKey),
      score: r.score,
      vectorSimilarity: r.vector?.similarity ?? null,
      vectorRank: r.vector?.rank ?? null,
      keywordBm25: r.keyword?.bm25 ?? null,
      keywordRank: r.keyword?.rank ?? null,
      fused: r.fused,
      matchedTerms: matchedTerms(terms, m.indexedTerms),
      exactCaption: r.keyword?.exact ?? false,
      description: m.description,
      ocrText: m.ocrText,
      tags: m.tags,
      category: m.category,
      isAnimated: m.isAnimated,
    });
  }
  return hits;
}
