/**
 * The parameters of /api/recall, as JSON schemas Fastify validates with
 * (GET's query string and POST's JSON or multipart body) and the OpenAPI
 * document shows, and their conversion into the library's RecallOptions.
 */
import { parseDuration } from '../config/duration.js';
import { UsageError } from '../errors.js';
import type { RecallOptions } from '../library/recall-search.js';
import { DEFAULT_RECALL_TIMEOUT_MS, DEFAULT_TOP_K } from '../library/recall-search.js';
import { RECALL_MODES, type RecallMode } from '../pipeline/recall-service.js';
import type { ServeSettings } from './settings.js';

export interface RecallParams {
  q?: string;
  tag?: string[];
  category?: string;
  animated?: boolean;
  source?: string;
  mode?: RecallMode;
  top_k?: number;
  threshold?: number;
  timeout?: string;
  embedding?: string;
  literal?: boolean;
  exact?: boolean;
  all_duplicates?: boolean;
  /** POST only: base64 (or a data: URL) in JSON, a file part in multipart/form-data. */
  image?: unknown;
}

/** The budget a recall leaves itself inside a request's time limit (the search after the embedding). */
const SEARCH_MARGIN_MS = 1000;

const word = (description: string, maxLength = 100) => ({ type: 'string', minLength: 1, maxLength, description });

/** Properties shared by GET and POST. */
function properties(s: ServeSettings) {
  return {
    q: { type: 'string', minLength: 1, maxLength: s.maxQueryChars, description: 'What to look for, e.g. 我太难了' },
    tag: { type: 'array', items: word('A tag every result must have'), maxItems: 20, description: 'Only memes with every one of these tags; repeat the parameter for several' },
    category: word('Only memes of this category'),
    animated: { type: 'boolean', description: 'true: animated memes only (GIF, animated WebP); false: still images only' },
    source: word('Only memes seen in this source, e.g. staging:fabiaoqing', 1000),
    mode: { type: 'string', enum: [...RECALL_MODES], default: 'hybrid', description: 'hybrid (vector and keyword, fused), vector, or keyword' },
    top_k: { type: 'integer', minimum: 1, maximum: s.maxTopK, default: DEFAULT_TOP_K, description: `Results to return, 1 to ${s.maxTopK}` },
    threshold: { type: 'number', minimum: -1, maximum: 1, description: 'Drop vector hits below this cosine similarity (vector and hybrid modes)' },
    timeout: {
      type: 'string',
      maxLength: 20,
      description:
        `Time allowed for the query embedding (1s, 500ms; a bare number is seconds); past it, keyword results come back with partial: true. ` +
        `Default ${defaultTimeoutMs(s)}ms; at most ${maxTimeoutMs(s)}ms (serve.request_timeout less ${SEARCH_MARGIN_MS} ms)`,
    },
    embedding: word('Embedding config whose collection is searched (default: the one marked is_default)'),
    literal: { type: 'boolean', description: 'Only the words as typed: no synonyms, slang, single characters or IDF weighting' },
    exact: { type: 'boolean', description: 'Exact float32 KNN instead of the quantised index (slower; for checking)' },
    all_duplicates: { type: 'boolean', description: 'Every copy of a meme (same picture and caption) as its own result, instead of one result listing the others in duplicates' },
  };
}

export function recallQuerySchema(s: ServeSettings) {
  return { type: 'object', additionalProperties: false, required: ['q'], properties: properties(s) };
}

/** JSON or multipart/form-data: the same fields, `tag` as a list or one string, and an optional picture. */
export function recallBodySchema(s: ServeSettings) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...properties(s),
      image: {
        description:
          'A picture to search by, through an embedding with input: image (`embedding`, else the first one): base64 or a data: URL in JSON, a file part in multipart/form-data',
      },
    },
  };
}

/** The library's options for one request; a UsageError (400) for what the schema cannot say. */
export function recallOptions(p: RecallParams, s: ServeSettings): { query: string; options: RecallOptions } {
  const image = decodeImage(p.image);
  if (p.q === undefined && !image) throw new UsageError('give q (the text to look for) or image (a picture to search by)');
  const options: RecallOptions = {
    mode: p.mode ?? 'hybrid',
    topK: p.top_k ?? DEFAULT_TOP_K,
    tags: p.tag ?? [],
    timeoutMs: timeoutMs(p.timeout, s),
  };
  if (p.threshold !== undefined) options.threshold = p.threshold;
  if (p.category !== undefined) options.category = p.category;
  if (p.animated !== undefined) options.animated = p.animated;
  if (p.source !== undefined) options.source = p.source;
  if (p.embedding !== undefined) options.embedding = p.embedding;
  if (p.literal) options.literal = true;
  if (p.exact) options.exact = true;
  if (p.all_duplicates) options.allDuplicates = true;
  if (image) options.image = image;
  return { query: p.q ?? '', options };
}

/** The longest budget a request may ask for: what its time limit leaves after the search. */
function maxTimeoutMs(s: ServeSettings): number {
  return Math.max(0, s.requestTimeoutMs - SEARCH_MARGIN_MS);
}

/** The library's default, unless a short request_timeout leaves less. */
function defaultTimeoutMs(s: ServeSettings): number {
  return Math.min(DEFAULT_RECALL_TIMEOUT_MS, maxTimeoutMs(s));
}

function timeoutMs(text: string | undefined, s: ServeSettings): number {
  if (text === undefined) return defaultTimeoutMs(s);
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new UsageError(`timeout: ${(err as Error).message}`);
  }
  const max = maxTimeoutMs(s);
  if (ms > max) throw new UsageError(`timeout must be at most ${max} ms (serve.request_timeout less ${SEARCH_MARGIN_MS} ms for the search), got ${ms} ms`);
  return ms;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeImage(image: unknown): Buffer | undefined {
  if (image === undefined || image === '') return undefined;
  if (Buffer.isBuffer(image)) return image.length > 0 ? image : undefined;
  if (typeof image !== 'string') throw new UsageError('image must be a file part (multipart/form-data) or a base64 string (JSON)');
  const data = image.replace(/^data:image\/[a-z+.-]+;base64,/i, '').replace(/\s+/g, '');
  if (!BASE64.test(data)) throw new UsageError('image must be base64, or a data: URL such as data:image/png;base64,…');
  return Buffer.from(data, 'base64');
}
