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
import type { RecallMode } from '../config/limits.js';
import { errorMessage } from '../errors.js';
import type { Expansion, Thesaurus } from '../lexicon/thesaurus.js';
import type { Embedder, ObjectStorage } from '../ports.js';
import type { PictureStore, RecallFilters, RecallIndex, VectorHit, VectorMethod } from '../store/ports.js';
import { searchKeywords } from './keyword-search.js';
import { embedQueryWithin, NoTextSide, type QueryBudget } from './query-embedding.js';
import { collapseDuplicates } from './recall-collapse.js';
import { describeHits, rankHits, type Ranked, type RecallHit } from './recall-hits.js';
import { lexicalEmbedding, weighRecallQuery } from './recall-query.js';

export type { RecallHit } from './recall-hits.js';

export { RECALL_MODES, type RecallMode } from '../config/limits.js';

/** Each side fetches this many times top-k before fusion, so fusion can promote what one side ranks low. */
export const HYBRID_OVERFETCH = 4;
/** When folding copies left fewer than top-k hits, the sides are searched once more this much deeper, up to MAX_DEPTH. */
const DEEPER = 8;
/** The deepest a side is searched (sqlite-vec answers at most 4096 neighbours). */
const MAX_DEPTH = 4096;

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
  // Fused rankings fetch more per side, so fusion can promote what one side ranks low; so does a vector search whose
  // copies are folded (its k nearest stay its k nearest). Keyword mode does not: its tiers are summed within what
  // each fetched, so a deeper fetch reorders them; it goes deeper only when folding left fewer than k hits.
  let depth = fused || (!req.allDuplicates && req.mode !== 'keyword') ? req.topK * HYBRID_OVERFETCH : req.topK;
  let wantVector = withText && req.mode !== 'keyword';
  const wantKeyword = withText && req.mode !== 'vector';
  const wantImage = req.picture !== undefined;

  // Weighing the query (thesaurus, document frequencies) starts at once and never rejects.
  const tTerms = clock.now();
  const weighing = weighRecallQuery(deps, req, (err) => fail('terms', err)).finally(() => (result.timings.terms = clock.since(tTerms)));

  // A model that embeds meaning gets the query text, and starts first (it may be remote):
  // keyword search runs while it is in flight. A lexical embedder waits for the weighed query.
  const collection = (async () => {
    const coll = await deps.index.collectionInfo(deps.collection);
    if (!coll) throw new Error(`collection "${deps.collection}" has no vectors yet (run emomo ingest or emomo embed)`);
    return coll;
  })();
  collection.catch(() => undefined);
  const tEmbed = clock.now();
  const embedding = !wantVector
    ? undefined
    : (async () => {
        const info = await collection;
        const embedder = deps.embedder();
        if (embedder.embedsText === false) throw new NoTextSide(embedder.model, info.name);
        if (embedder.embedLexicalQuery && !req.literal) return lexicalEmbedding(embedder, await weighing, info);
        // The budget counts from the start of the search: loading the client library is part of it.
        return embedQueryWithin(embedder, { text: req.query }, info, budget(req, clock, tEmbed), deps.signal);
      })();
  embedding?.catch(() => undefined); // handled below; never an unhandled rejection
  const picturing = !wantImage
    ? undefined
    : collection.then((info) => embedQueryWithin(deps.embedder(), { picture: req.picture! }, info, budget(req, clock, tEmbed), deps.signal));
  picturing?.catch(() => undefined);

  const { plan, weighed } = await weighing;
  result.terms = plan.terms;
  result.characters = weighed.characters;
  result.expansions = weighed.expansions;

  const timed = async <T>(stage: 'keyword' | 'vector' | 'image', first: boolean, run: () => Promise<T>): Promise<T | undefined> => {
    const t = clock.now();
    try {
      return await run();
    } catch (err) {
      if (first) fail(stage, err);
      return undefined;
    } finally {
      // The picture's time includes its embedding (settle); a second, deeper pass adds to the first.
      result.timings[stage] = (first && stage !== 'image' ? 0 : (result.timings[stage] ?? 0)) + clock.since(t);
    }
  };
  // No tier: nothing to look for in the text (punctuation only): searched, found nothing.
  const searchKeyword = (first: boolean) => timed('keyword', first, () => searchKeywords(deps.index, weighed.tiers, depth, req.filters));
  const searchVector = (stage: 'vector' | 'image', vector: Float32Array | undefined, first: boolean) =>
    vector &&
    timed(stage, first, async () => {
      const found = await deps.index.vectorSearch((await collection).name, vector, depth, req.filters, { exact: req.exact });
      result.vectorMethod ??= found.method;
      result.candidates ??= found.candidates;
      // Without a threshold, fused rankings drop similarities of 0 or less: they share nothing with the query and
      // would still earn a fused rank. Vector mode returns the k nearest, as asked.
      return { hits: found.hits.filter(keepVectorHit(req, fused)), full: found.hits.length >= depth };
    });

  // Keyword search runs while the query embeddings are in flight.
  const keywordFirst = wantKeyword ? searchKeyword(true) : undefined;
  const textVector = embedding && (await settle(embedding, 'embed'));
  const imageVector = picturing && (await settle(picturing, 'image'));
  let found = { keyword: await keywordFirst, vector: await searchVector('vector', textVector, true), image: await searchVector('image', imageVector, true) };

  const searched = [wantVector && found.vector, wantKeyword && found.keyword, wantImage && found.image].filter(Boolean).length;
  const wanted = Number(wantVector) + Number(wantKeyword) + Number(wantImage);
  result.failed = searched === 0;
  result.partial = !result.failed && searched < wanted;

  let ranked = await rankAndFold(found);
  // Folding copies left fewer than k hits though a side had more: once more, deeper.
  const full = found.keyword?.length === depth || found.vector?.full || found.image?.full;
  if (result.collapsed > 0 && ranked.length < req.topK && full && depth < MAX_DEPTH) {
    depth = Math.min(MAX_DEPTH, depth * DEEPER);
    const [keyword, vector, image] = await Promise.all([
      found.keyword && searchKeyword(false),
      found.vector && searchVector('vector', textVector, false),
      found.image && searchVector('image', imageVector, false),
    ]);
    found = { keyword, vector, image };
    ranked = await rankAndFold(found);
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

  /** A query vector, or undefined with the failure recorded (a picture-only collection simply has no text side). */
  async function settle(vector: Promise<Float32Array>, stage: 'embed' | 'image'): Promise<Float32Array | undefined> {
    try {
      return await vector;
    } catch (err) {
      if (err instanceof NoTextSide && (wantKeyword || wantImage)) wantVector = false;
      else fail(stage, err);
      return undefined;
    } finally {
      result.timings[stage] = clock.since(tEmbed);
    }
  }

  async function rankAndFold(sides: typeof found): Promise<Array<Ranked & { duplicates?: number[] }>> {
    const t = clock.now();
    const ranking = rankHits(req.mode, sides.vector?.hits ?? [], sides.keyword ?? [], sides.image?.hits, withText);
    result.timings.fuse = clock.since(t);
    if (req.allDuplicates || ranking.length < 2) return ranking;
    const tc = clock.now();
    try {
      const folded = await collapseDuplicates(deps.index, ranking);
      result.collapsed = ranking.length - folded.length;
      return folded;
    } catch (err) {
      fail('collapse', err);
      return ranking;
    } finally {
      result.timings.collapse = clock.since(tc);
    }
  }
}

/** What is left of the time budget, counted from the start of the search. */
function budget(req: RecallRequest, clock: Stopwatch, started: number): QueryBudget {
  return { timeoutMs: req.timeoutMs, leftMs: Math.max(0, req.timeoutMs - clock.since(started)) };
}

/** Without a threshold, a fused ranking drops similarities of 0 or less; with one, what is below it. */
function keepVectorHit(req: RecallRequest, fused: boolean): (h: VectorHit) => boolean {
  return (h) => (req.threshold === undefined ? !(fused && h.distance >= 1) : 1 - h.distance >= req.threshold);
}
