/**
 * Recall: vector similarity, BM25 keywords, or both fused by reciprocal rank,
 * with filters, a similarity threshold, top-k and a time budget. It never
 * throws for a failed side: a slow or broken embedding provider leaves the
 * keyword results, marked partial with the reason; the caller decides what
 * "nothing could be searched" means (the CLI exits non-zero).
 *
 * The query is first planned on the lexical side (lexicon/query-plan.ts): its
 * own terms, backoff characters and expansions, weighed by the library's
 * document frequencies. Keyword search uses all three; a lexical embedder
 * (the offline `local` one) builds its query vector from them too.
 *
 * A query picture (`recall --image`) is searched through the image side of
 * an image collection's model, beside the text (or alone), and fused by
 * reciprocal rank. Copies of one meme are folded into one hit unless the
 * caller asks for all of them (recall-collapse.ts).
 */
import { errorMessage } from '../errors.js';
import { inverseDocumentFrequency, planQuery, weighQuery, type QueryPlan, type WeighedQuery } from '../lexicon/query-plan.js';
import type { Expansion, Thesaurus } from '../lexicon/thesaurus.js';
import type { Embedder, ObjectStorage } from '../ports.js';
import type { CollectionInfo, PictureStore, RecallFilters, RecallIndex, TermStatistics, VectorHit, VectorMethod } from '../store/ports.js';
import { searchKeywords, type WeighedKeywordHit } from './keyword-search.js';
import { checkQueryVector, embedQueryWithin, NoTextSide, type QueryBudget } from './query-embedding.js';
import { collapseDuplicates } from './recall-collapse.js';
import { describeHits, rankHits, type Ranked, type RecallHit } from './recall-hits.js';

export type { RecallHit } from './recall-hits.js';

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
  /** Only the query's own words: no backoff characters, no expansions, no IDF weighting. */
  literal?: boolean;
  /** A query picture (its first frame as a describer sees it), searched through the collection's image side. */
  picture?: Buffer;
  /** Show every copy of a meme instead of folding duplicates into one hit (default false). */
  allDuplicates?: boolean;
}

export interface RecallDeps {
  index: RecallIndex & Pick<PictureStore, 'pictureFacts'>;
  /** The collection searched and its embedder, built lazily: building it may fail (e.g. a missing key). */
  collection: string;
  embedder: () => Embedder;
  /** Words of the same meaning for query expansion, built lazily; none: no expansion. */
  thesaurus?: () => Thesaurus;
  storage: Pick<ObjectStorage, 'url'>;
  redact?: (text: string) => string;
  signal?: AbortSignal;
}

export type RecallStage = 'terms' | 'embed' | 'vector' | 'keyword' | 'image' | 'collapse' | 'fetch';

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
  /** Characters searched on their own (no query bigram holding them is known to the library). */
  characters: string[];
  /** Words of the same meaning searched, with their weight. */
  expansions: Array<Expansion & { weight: number }>;
  vectorMethod?: VectorMethod;
  candidates?: number;
  /** A query picture was searched. */
  picture: boolean;
  /** Hits folded into a better-ranked copy of the same meme. */
  collapsed: number;
  errors: Array<{ stage: RecallStage; message: string }>;
  timings: Partial<Record<RecallStage | 'fuse', number>> & { total: number };
  hits: RecallHit[];
}

/** Sub-millisecond timings of the recall stages (not a Clock: nothing waits on it). */
class Stopwatch {
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
  const clock = new Stopwatch();
  const redact = deps.redact ?? ((s: string) => s);
  const result: RecallResult = {
    query: req.query,
    mode: req.mode,
    collection: deps.collection,
    partial: false,
    failed: false,
    terms: [],
    characters: [],
    expansions: [],
    picture: req.picture !== undefined,
    collapsed: 0,
    errors: [],
    timings: { total: 0 },
    hits: [],
  };
  const fail = (stage: RecallStage, err: unknown) => result.errors.push({ stage, message: redact(errorMessage(err)) });
  const withText = req.query.trim().length > 0;
  const fused = req.mode === 'hybrid' || (req.picture !== undefined && withText);
  // Fused rankings fetch more per side. So does a vector search whose copies are folded (its k nearest stay
  // its k nearest); keyword mode does not, since its tiers are merged within what each one fetched.
  const depth = fused ? req.topK * HYBRID_OVERFETCH : req.topK;
  const vectorDepth = fused || !req.allDuplicates ? req.topK * HYBRID_OVERFETCH : req.topK;
  let wantVector = withText && req.mode !== 'keyword';
  const wantKeyword = withText && req.mode !== 'vector';
  const wantImage = req.picture !== undefined;

  // Weighing the query (thesaurus, document frequencies) starts at once and never rejects.
  const tTerms = clock.now();
  const weighing = weigh(deps, req, fail).finally(() => (result.timings.terms = clock.since(tTerms)));

  // A model that embeds meaning gets the query text, and starts first (it may be remote):
  // keyword search runs while it is in flight. A lexical embedder waits for the weighed query.
  let coll: CollectionInfo | undefined;
  const collection = (async () => {
    coll = await deps.index.collectionInfo(deps.collection);
    if (!coll) throw new Error(`collection "${deps.collection}" has no vectors yet (run emomo ingest or emomo embed)`);
    return coll;
  })();
  collection.catch(() => undefined);
  let embedding: Promise<Float32Array | undefined> = Promise.resolve(undefined);
  const tEmbed = clock.now();
  if (wantVector) {
    embedding = (async () => {
      const info = await collection;
      const embedder = deps.embedder();
      if (embedder.embedsText === false) throw new NoTextSide(embedder.model, info.name);
      if (embedder.embedLexicalQuery && !req.literal) return lexicalEmbedding(embedder, await weighing, info);
      // The budget counts from the start of the search: loading the client library is part of it.
      return embedQueryWithin(embedder, { text: req.query }, info, budget(req, clock, tEmbed), deps.signal);
    })();
    embedding.catch(() => undefined); // handled below; never an unhandled rejection
  }
  const tImage = clock.now();
  const picturing = wantImage ? searchPicture(deps, req, collection, vectorDepth, () => budget(req, clock, tImage)) : undefined;
  picturing?.catch(() => undefined);

  const { plan, weighed } = await weighing;
  result.terms = plan.terms;
  result.characters = weighed.characters;
  result.expansions = weighed.expansions;

  let keywordHits: WeighedKeywordHit[] | undefined;
  if (wantKeyword) {
    const t = clock.now();
    try {
      // No tier: nothing to look for in the text (punctuation only): searched, found nothing.
      keywordHits = await searchKeywords(deps.index, weighed.tiers, depth, req.filters);
    } catch (err) {
      fail('keyword', err);
    }
    result.timings.keyword = clock.since(t);
  }

  let vectorHits: VectorHit[] | undefined;
  if (wantVector) {
    try {
      const vector = await embedding;
      result.timings.embed = clock.since(tEmbed);
      const t = clock.now();
      try {
        const found = await deps.index.vectorSearch(coll!.name, vector!, vectorDepth, req.filters, { exact: req.exact });
        // Without a threshold, fused rankings drop similarities of 0 or less: they share nothing with the query and would
        // still earn a fused rank. Vector mode returns the k nearest, as asked.
        vectorHits = found.hits.filter(keepVectorHit(req, fused));
        result.vectorMethod = found.method;
        result.candidates = found.candidates;
      } catch (err) {
        fail('vector', err);
      }
      result.timings.vector = clock.since(t);
    } catch (err) {
      result.timings.embed = clock.since(tEmbed);
      // A picture-only collection in a mixed search: its text side is simply not there.
      if (err instanceof NoTextSide && (wantKeyword || wantImage)) wantVector = false;
      else fail('embed', err);
    }
  }

  let imageHits: VectorHit[] | undefined;
  if (picturing) {
    try {
      const found = await picturing;
      imageHits = found.hits.filter(keepVectorHit(req, fused));
      result.vectorMethod ??= found.method;
      result.candidates ??= found.candidates;
    } catch (err) {
      fail('image', err);
    }
    result.timings.image = clock.since(tImage);
  }

  const searched = [wantVector && vectorHits, wantKeyword && keywordHits, wantImage && imageHits].filter(Boolean).length;
  const wanted = Number(wantVector) + Number(wantKeyword) + Number(wantImage);
  result.failed = searched === 0;
  result.partial = !result.failed && searched < wanted;

  const t = clock.now();
  let ranked: Array<Ranked & { duplicates?: number[] }> = rankHits(req.mode, vectorHits ?? [], keywordHits ?? [], imageHits, withText);
  result.timings.fuse = clock.since(t);
  if (!req.allDuplicates && ranked.length > 1) {
    const tc = clock.now();
    try {
      const collapsed = await collapseDuplicates(deps.index, ranked);
      result.collapsed = ranked.length - collapsed.length;
      ranked = collapsed;
    } catch (err) {
      fail('collapse', err);
    }
    result.timings.collapse = clock.since(tc);
  }
  ranked = ranked.slice(0, req.topK);
  if (ranked.length > 0) {
    const tf = clock.now();
    try {
      result.hits = await describeHits(deps, ranked, { ...result, picture: wantImage });
    } catch (err) {
      fail('fetch', err);
      result.failed = true;
    }
    result.timings.fetch = clock.since(tf);
  }
  if (result.errors.length > 0) result.reason = result.errors.map((e) => `${e.stage}: ${e.message}`).join('; ');
  result.timings.total = clock.total();
  return result;
}

/** What is left of the time budget, counted from the start of the search. */
function budget(req: RecallRequest, clock: Stopwatch, started: number): QueryBudget {
  return { timeoutMs: req.timeoutMs, leftMs: Math.max(0, req.timeoutMs - clock.since(started)) };
}

/** Without a threshold, a fused ranking drops similarities of 0 or less; with one, what is below it. */
function keepVectorHit(req: RecallRequest, fused: boolean): (h: VectorHit) => boolean {
  return (h) => (req.threshold === undefined ? !(fused && h.distance >= 1) : 1 - h.distance >= req.threshold);
}

/** The query picture through the collection's image side, within the time budget, and its nearest memes. */
async function searchPicture(deps: RecallDeps, req: RecallRequest, collection: Promise<CollectionInfo>, depth: number, left: () => QueryBudget) {
  const info = await collection;
  const vector = await embedQueryWithin(deps.embedder(), { picture: req.picture! }, info, left(), deps.signal);
  return deps.index.vectorSearch(info.name, vector, depth, req.filters, { exact: req.exact });
}

/**
 * Plans and weighs the query. Without document frequencies (a literal query,
 * or the lookup failed) it searches the query's own terms only.
 */
async function weigh(
  deps: RecallDeps,
  req: RecallRequest,
  fail: (stage: RecallStage, err: unknown) => void,
): Promise<{ plan: QueryPlan; stats?: TermStatistics; weighed: WeighedQuery }> {
  let plan = planQuery(req.query, undefined, true);
  if (req.literal) return { plan, weighed: weighQuery(plan) };
  try {
    plan = planQuery(req.query, deps.thesaurus?.());
    const stats = await deps.index.documentFrequencies(plan.lookup);
    return { plan, stats, weighed: weighQuery(plan, stats) };
  } catch (err) {
    fail('terms', err);
    return { plan, weighed: weighQuery(plan) };
  }
}

/** The lexical embedder's query vector: IDF-weighed features plus the expansions the library holds. */
function lexicalEmbedding(
  embedder: Embedder,
  { plan, weighed, stats }: { plan: QueryPlan; weighed: WeighedQuery; stats?: TermStatistics },
  coll: CollectionInfo,
): Float32Array {
  const vector = embedder.embedLexicalQuery!({
    text: plan.query,
    // Cosine similarity mixes every feature into one score: a meme holding the word and a synonym
    // would outrank the meme holding just the word. Here a synonym only stands in for a query word
    // the library does not hold (the keyword side, which ranks the query's own words first, uses all).
    expansions: weighed.expansions.filter((e) => !e.wordHeld),
    idf: stats ? inverseDocumentFrequency(stats) : () => 1,
    holds: (term) => !stats || (stats.frequencies.get(term) ?? 0) > 0,
  });
  checkQueryVector(vector, coll);
  return vector;
}
