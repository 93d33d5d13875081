/**
 * One recall as every caller asks for it: `emomo recall`, `emomo serve` and
 * Node programs (`openLibrary().recall`) turn their inputs into these options,
 * and this is the one place that checks them, resolves the source filter and
 * wires the recall service to the app.
 */
import type { App } from '../app.js';
import { UsageError, errorMessage } from '../errors.js';
import { recall, RECALL_MODES, type RecallDeps, type RecallMode, type RecallResult } from '../pipeline/recall-service.js';
import { sourceName } from '../sources/open-source.js';

import { MAX_TOP_K } from '../config/limits.js';

export { MAX_TOP_K };
export const DEFAULT_TOP_K = 10;
/** The time budget of the query embedding when none is given. */
export const DEFAULT_RECALL_TIMEOUT_MS = 3000;

export interface RecallOptions {
  /** hybrid (default), vector or keyword. */
  mode?: RecallMode;
  /** Results to return, 1 to MAX_TOP_K (default 10). */
  topK?: number;
  /** Drop vector hits below this cosine similarity (-1 to 1). */
  threshold?: number;
  /** Only memes holding every one of these tags. */
  tags?: string[];
  category?: string;
  /** true: animated only; false: still images only. */
  animated?: boolean;
  /** A source as recorded (staging:fabiaoqing), or any spelling of a dir: folder. */
  source?: string;
  /** The embedding config whose collection is searched (default: the one marked is_default). */
  embedding?: string;
  /** Budget of the query embedding in ms (default 3000); past it, keyword results come back marked partial. */
  timeoutMs?: number;
  /** Exact float32 KNN instead of the quantised index. */
  exact?: boolean;
  /** Only the words as typed: no synonyms, slang, single characters or IDF weighting. */
  literal?: boolean;
  /**
   * A picture to search by (image recall): a file's bytes, checked like any
   * input. Searched through an embedding with `input: image` (`embedding`,
   * else the first one), alone or fused with the text.
   */
  image?: Buffer;
  /** Names the picture in error messages (default "image"). */
  imageName?: string;
  /** Every copy of a meme as its own hit, instead of one hit per meme. */
  allDuplicates?: boolean;
  /** Ends a wait for the embedding provider early. */
  signal?: AbortSignal;
}

export interface RecallSearch {
  result: RecallResult;
  /** The source filter as it was searched (as recorded). */
  source?: string;
  /** Categories and sources the library holds, when asked for (hints for a filter that matched nothing). */
  known?: { categories: string[]; sources: string[] };
}

/** What the recall service needs, from the app (the CLI, serve, the recall-quality test and the benchmarks alike). */
export function recallDeps(app: App, embedding?: string, signal?: AbortSignal): RecallDeps {
  // An unknown embedding name is a usage error before any search; the embedder itself is built
  // only when needed, so a missing key or a broken provider still leaves keyword results.
  const config = app.embeddingConfig(embedding);
  return {
    index: app.store,
    collection: config.collection,
    embedder: () => app.embedding(embedding).embedder,
    thesaurus: () => app.thesaurus,
    storage: app.storage,
    redact: app.redact,
    signal,
  };
}

/** Throws a UsageError naming the first option that is out of range. */
export function checkRecallOptions(query: string, o: RecallOptions): void {
  if (!query.trim() && !o.image) throw new UsageError('the query is empty: say what to look for, e.g. "我太难了", or give a picture');
  if (o.mode !== undefined && !RECALL_MODES.includes(o.mode)) throw new UsageError(`mode must be one of ${RECALL_MODES.join(', ')}, got "${o.mode}"`);
  const topK = o.topK ?? DEFAULT_TOP_K;
  if (!Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K) throw new UsageError(`top_k must be a whole number from 1 to ${MAX_TOP_K}, got ${o.topK}`);
  if (o.threshold !== undefined && !(o.threshold >= -1 && o.threshold <= 1)) {
    throw new UsageError(`threshold must be a cosine similarity between -1 and 1, got ${o.threshold}`);
  }
  if (o.timeoutMs !== undefined && !(o.timeoutMs >= 0 && Number.isFinite(o.timeoutMs))) throw new UsageError(`timeout must be 0 or more milliseconds, got ${o.timeoutMs}`);
}

/**
 * Runs one recall. A slow or failing provider is never an exception: the
 * result says `partial` or `failed` with the reason. `hints` also looks up
 * the library's categories and sources when a category or source filter was
 * given (one extra query), so the caller can say what exists.
 */
export async function searchLibrary(app: App, query: string, options: RecallOptions = {}, hints = false): Promise<RecallSearch> {
  checkRecallOptions(query, options);
  const embedding = options.image ? pictureEmbedding(app, options.embedding) : options.embedding;
  const picture = options.image ? await queryStill(app, options.image, options.imageName ?? 'image') : undefined;
  const deps = recallDeps(app, embedding, options.signal);
  // Source names as recorded, for a source spelled another way (dir:../memes).
  const lookup = options.source !== undefined || (hints && options.category !== undefined);
  const known = lookup ? await app.store.filterValues() : undefined;
  const source = options.source === undefined ? undefined : sourceName(options.source, known?.sources);
  const result = await recall(deps, {
    query,
    mode: options.mode ?? 'hybrid',
    topK: options.topK ?? DEFAULT_TOP_K,
    threshold: options.threshold,
    filters: { tags: options.tags ?? [], category: options.category, animated: options.animated, source },
    timeoutMs: options.timeoutMs ?? DEFAULT_RECALL_TIMEOUT_MS,
    exact: options.exact,
    literal: options.literal,
    ...(picture ? { picture } : {}),
    allDuplicates: options.allDuplicates ?? false,
  });
  return { result, source, ...(hints ? { known } : {}) };
}

/** The embedding searched by picture: the one named (it must embed pictures), else the first that does. */
function pictureEmbedding(app: App, name?: string): string {
  if (name !== undefined) {
    if (app.embeddingConfig(name).input !== 'image') throw new UsageError(`searching by picture needs an embedding with input: image; "${name}" embeds text`);
    return name;
  }
  const found = app.config.embeddings.find((e) => e.input === 'image');
  if (!found) {
    throw new UsageError(
      `searching by picture needs an embedding with input: image in ${app.config.file} (e.g. provider: local, input: image, dimensions: 192); see docs/recall.md`,
    );
  }
  return found.name;
}

/** The query picture as every embedder takes it (its first frame, upright, flattened), after the input checks. */
async function queryStill(app: App, bytes: Buffer, name: string): Promise<Buffer> {
  // Loaded here: decoding needs sharp, which a text recall never loads.
  const { stillFromFile } = await import('../images/vlm-input.js');
  const { ingest, vlm } = app.config;
  if (bytes.length > ingest.maxFileBytes) throw new UsageError(`${name}: ${bytes.length} bytes, over ingest.max_file_bytes (${ingest.maxFileBytes})`);
  try {
    return await stillFromFile(bytes, { maxPixels: ingest.maxPixels }, vlm.maxSide);
  } catch (err) {
    throw new UsageError(`${name}: ${errorMessage(err)}`);
  }
}
