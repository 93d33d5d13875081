/**
 * The one place that says what configs/config.yaml may contain: every key,
 * its default and what it means. Keys are snake_case as written in the file;
 * load.ts turns the parsed result into the camelCase `Config`. Objects are
 * strict so a typo (`dimension:`) is an error instead of a silently ignored key.
 *
 * Note on zod 4: `.default(x)` returns x without parsing it, so sections use
 * `.prefault({})` to run their own field defaults.
 */
import { z } from 'zod';
import { parseByteSize } from './byte-size.js';
import { parseDuration } from './duration.js';
import { LOCAL_PICTURE_DIMENSIONS, MAX_WORKERS } from './limits.js';

// ------------------------------------------------------------ building blocks

// `${VAR}` substitution always yields text; let numeric and boolean keys
// accept their plain text form so `workers: ${WORKERS:-8}` works.
const NUMERIC = /^-?\d+(?:\.\d+)?$/;
const numberFromText = (v: unknown) => (typeof v === 'string' && NUMERIC.test(v.trim()) ? Number(v) : v);
const boolFromText = (v: unknown) => (v === 'true' ? true : v === 'false' ? false : v);

/** A schema-level message that still says "is required" when the key is missing. */
const expecting = (text: string) => (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : text);

function integer(min: number, max?: number) {
  const expected =
    max !== undefined ? `expected an integer from ${min} to ${max}`
    : min === 1 ? 'expected a positive integer'
    : `expected an integer >= ${min}`;
  let schema = z.int({ error: expecting(expected) }).min(min, { error: expected });
  if (max !== undefined) schema = schema.max(max, { error: expected });
  return z.preprocess(numberFromText, schema);
}
const positiveInt = () => integer(1);
const flag = () => z.preprocess(boolFromText, z.boolean({ error: expecting('expected true or false') }));
const text = () => z.string().min(1);

function hasProtocol(value: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

export function isHttpUrl(value: string): boolean {
  return hasProtocol(value, ['http:', 'https:']);
}

/** A PostgreSQL connection URL (postgres:// or postgresql://). */
export function isPostgresUrl(value: string): boolean {
  return hasProtocol(value, ['postgres:', 'postgresql:']);
}

const httpUrl = () => z.string().refine(isHttpUrl, { error: 'expected an http(s) URL such as https://api.example.com/v1' });

// Only the variable's name belongs here; values of *_env keys are never echoed in errors.
const envName = () =>
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
    error: 'expected the name of an environment variable (such as OPENAI_API_KEY), not its value',
  });

/**
 * Cross-key rules run even when a field already failed, so every problem is
 * reported in one go; the value may then be partly invalid, hence `unknown`
 * and the type checks inside each rule.
 */
const always = { when: () => true };
const field = (value: unknown, key: string): unknown =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;

/** A positive quantity written as text with a unit or as a bare number (durations, sizes). */
function quantity(parse: (value: string | number) => number, hint: string, notPositive: string) {
  return z.union([z.string(), z.number()], { error: expecting(hint) }).transform((value, ctx) => {
    let parsed: number;
    try {
      parsed = parse(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: hint, input: value });
      return z.NEVER;
    }
    if (parsed <= 0) ctx.addIssue({ code: 'custom', message: notPositive, input: value });
    return parsed;
  });
}
const duration = () =>
  quantity(parseDuration, 'expected a duration such as "60s", "500ms", "2m", or a number of seconds', 'must be longer than 0');
const byteSize = () =>
  quantity(parseByteSize, 'expected a size such as "50MiB", "800KB" or a number of bytes', 'must be larger than 0');

// ------------------------------------------------------------ sections

const database = z
  .strictObject({
    path: text().default('data/emomo.db').describe('SQLite file, created by the first ingest (relative to the config file; the default to the working directory)'),
    url: z
      .string()
      .refine(isPostgresUrl, { error: 'expected a PostgreSQL URL such as postgres://emomo@db.example.com/emomo' })
      .optional()
      .describe('PostgreSQL + pgvector library shared by many machines; used instead of path when set (env EMOMO_DATABASE_URL overrides it)'),
    pool_size: integer(1, 100).default(10).describe('PostgreSQL connections one emomo process opens at most'),
    lease: duration()
      .prefault('60s')
      .describe('How long a claim on an image or job outlives its worker: renewed every quarter of it while the worker runs, taken over by another worker once it runs out'),
  })
  .prefault({});

const vlm = z
  .strictObject({
    provider: z.enum(['local', 'openai']).default('local').describe('local: offline OCR; openai: any OpenAI-compatible chat endpoint with image input'),
    model: z.string().default('').describe('Model name; required when provider is openai'),
    base_url: httpUrl().optional().describe('Endpoint of the OpenAI-compatible API (OpenRouter, SiliconFlow, vLLM, Ollama...)'),
    base_url_env: envName().optional().describe('Env variable that, when set, overrides base_url'),
    api_key_env: envName().optional().describe('Env variable holding the API key (default OPENAI_API_KEY for openai)'),
    timeout: duration().prefault('60s').describe('Per-request timeout: "60s", "500ms", "2m" or seconds'),
    rpm: positiveInt().optional().describe('Requests per minute allowed (unset: no limit)'),
    concurrency: positiveInt().default(8).describe('Requests in flight at once'),
    max_side: positiveInt().default(768).describe('Images are downscaled so their longest side is at most this many pixels'),
    animated_frames: z
      .enum(['multi', 'contact_sheet', 'first'])
      .default('multi')
      .describe('Animated images: multi sends the chosen frames as several images in one request; contact_sheet tiles them into one image; first sends the first frame only. The local describer reads each chosen frame (first: the first only)'),
    max_frames: integer(2, 8).default(4).describe('Animated images: at most this many representative frames are read'),
    ocr_threads: integer(1, 16).optional().describe('Local describer: OCR worker threads; from 2 on, half detect text and half read it (default: one per core but one, at least 1, at most 4)'),
  })
  .superRefine((v: unknown, ctx) => {
    const model = field(v, 'model');
    if (field(v, 'provider') === 'openai' && typeof model === 'string' && !model.trim()) {
      ctx.addIssue({ code: 'custom', path: ['model'], message: 'is required when provider is openai (e.g. gpt-4o-mini)' });
    }
  }, always)
  .transform((v) => (v.provider === 'openai' ? { ...v, api_key_env: v.api_key_env ?? 'OPENAI_API_KEY' } : v))
  .prefault({});

/** Defaults for keys a provider implies; remote models must be named. */
const EMBEDDING_DEFAULTS = {
  local: { model: 'local-lexical-v1', api_key_env: undefined },
  'local-image': { model: 'local-picture-v1', api_key_env: undefined },
  jina: { model: undefined, api_key_env: 'JINA_API_KEY' },
  openai: { model: undefined, api_key_env: 'OPENAI_API_KEY' },
  modelscope: { model: undefined, api_key_env: 'MODELSCOPE_API_KEY' },
} as const;

const embedding = z
  .strictObject({
    name: text().describe('Name used with --embedding'),
    provider: z.enum(['local', 'jina', 'openai', 'modelscope']).describe('local: offline lexical hashing (input: image: an offline picture signature); jina; openai / modelscope: OpenAI-compatible /embeddings'),
    input: z
      .enum(['text', 'image'])
      .default('text')
      .describe("text: each meme's description is embedded; image: its picture (a multimodal model such as jina-clip-v2, or the offline signature)"),
    model: text().optional().describe('Model name (default local-lexical-v1 for local, local-picture-v1 for local with input: image; required otherwise)'),
    api_key_env: envName().optional().describe('Env variable holding the API key (default JINA_API_KEY / OPENAI_API_KEY / MODELSCOPE_API_KEY)'),
    base_url: httpUrl().optional().describe('Endpoint of the API'),
    base_url_env: envName().optional().describe('Env variable that, when set, overrides base_url'),
    dimensions: positiveInt().describe('Vector length the model returns; fixed for the life of the collection'),
    collection: z
      .string()
      .regex(/^[a-z0-9_-]+$/, { error: "expected lowercase letters, digits, '-' and '_' only" })
      .describe('Where the vectors live; one collection per model and dimension'),
    is_default: flag().default(false).describe('Used when --embedding is not given (default: the first entry)'),
    batch_size: positiveInt().default(32).describe('Texts sent per embedding request'),
    rpm: positiveInt().optional().describe('Requests per minute allowed (unset: no limit)'),
    timeout: duration().prefault('30s').describe('Per-request timeout: "30s", "500ms", "2m" or seconds'),
    concurrency: positiveInt().default(4).describe('Embedding requests in flight at once (each carries up to batch_size texts)'),
  })
  .superRefine((e: unknown, ctx) => {
    const provider = field(e, 'provider');
    if (provider !== undefined && provider !== 'local' && field(e, 'model') === undefined) {
      ctx.addIssue({ code: 'custom', path: ['model'], message: `is required for provider ${String(provider)}` });
    }
    const dimensions = field(e, 'dimensions');
    if (provider === 'local' && field(e, 'input') === 'image' && typeof dimensions === 'number' && dimensions !== LOCAL_PICTURE_DIMENSIONS) {
      ctx.addIssue({ code: 'custom', path: ['dimensions'], message: `must be ${LOCAL_PICTURE_DIMENSIONS}: the offline picture signature has ${LOCAL_PICTURE_DIMENSIONS} dimensions` });
    }
  }, always)
  .transform((e) => {
    const defaults = EMBEDDING_DEFAULTS[e.provider === 'local' && e.input === 'image' ? 'local-image' : e.provider];
    return { ...e, model: e.model ?? defaults.model ?? '', api_key_env: e.api_key_env ?? defaults.api_key_env };
  });

const embeddings = z
  .array(embedding)
  .min(1)
  .superRefine((list: unknown, ctx) => {
    if (!Array.isArray(list)) return;
    for (const key of ['name', 'collection']) {
      const seen = new Map<unknown, number>();
      list.forEach((e, i) => {
        const value = field(e, key);
        if (typeof value !== 'string') return;
        const first = seen.get(value);
        if (first === undefined) seen.set(value, i);
        else ctx.addIssue({ code: 'custom', path: [i, key], message: `duplicate ${key} "${value}" (also used by embeddings[${first}])` });
      });
    }
    const marked = list.filter((e) => field(e, 'is_default') === true);
    if (marked.length > 1) {
      const names = marked.map((e) => `"${String(field(e, 'name'))}"`).join(' and ');
      ctx.addIssue({ code: 'custom', message: `is_default is true on ${names}; mark exactly one` });
    }
  }, always)
  // With none marked, the first entry is the default, so there is always exactly one.
  .transform((list) => (list.some((e) => e.is_default) ? list : list.map((e, i) => ({ ...e, is_default: i === 0 }))))
  .prefault([{ name: 'local', provider: 'local', dimensions: 512, collection: 'emomo-local', is_default: true }])
  .describe('Embedding models; each writes its own collection');

const storage = z
  .strictObject({
    type: z.enum(['local', 's3', 'r2']).default('local').describe('local directory, or an S3-compatible bucket'),
    path: text().default('data/objects').describe('Root directory of local storage (relative to the config file)'),
    endpoint: httpUrl().optional().describe('S3-compatible endpoint (required for r2)'),
    region: text().default('auto').describe('Bucket region ("auto" for R2; a real region for AWS S3)'),
    bucket: text().optional().describe('Bucket name (required for s3 / r2)'),
    public_url: httpUrl().optional().describe('Public base URL objects are served from'),
    force_path_style: flag().default(false).describe('Path-style URLs (MinIO and some S3-compatible servers need this)'),
  })
  .superRefine((s: unknown, ctx) => {
    const type = field(s, 'type');
    if ((type === 's3' || type === 'r2') && field(s, 'bucket') === undefined) {
      ctx.addIssue({ code: 'custom', path: ['bucket'], message: `is required when type is ${type}` });
    }
    if (type === 'r2' && field(s, 'endpoint') === undefined) {
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'is required when type is r2 (https://<account-id>.r2.cloudflarestorage.com)' });
    }
  }, always)
  .prefault({});

const ingest = z
  .strictObject({
    workers: integer(1, MAX_WORKERS).default(8).describe('Items processed in parallel'),
    batch_size: positiveInt().default(100).describe('Items read from a source per batch'),
    retry_count: integer(0).default(3).describe('Retries of one failed provider call within a run'),
    probe_interval: duration()
      .prefault('5s')
      .describe('While a provider is down (circuit open), one request this often checks whether it is back'),
    max_outage: duration()
      .prefault('10m')
      .describe('How long a run waits for a provider that is down before it stops (exit 3)'),
    max_attempts: positiveInt().default(6).describe('Attempts of one item across runs before its job is marked dead'),
    max_pixels: positiveInt().default(50_000_000).describe('Images with more pixels are refused (decompression bombs)'),
    max_file_bytes: byteSize().prefault('50MiB').describe('Input files larger than this are refused before they are read: "50MiB", "800KB" or bytes'),
    min_side: integer(0).default(0).describe('Images with a shorter side are skipped (0 = no minimum)'),
  })
  .prefault({});

const sources = z
  .strictObject({
    staging: z
      .strictObject({ path: text().default('staging').describe('Staging area the crawler writes to (relative to the config file)') })
      .prefault({}),
    chinesebqb: z
      .strictObject({
        path: text().default('data/ChineseBQB').describe('Checkout of the ChineseBQB repository (relative to the config file)'),
        enabled: flag().default(true).describe('Allow `ingest --source chinesebqb`'),
      })
      .prefault({}),
  })
  .prefault({});

const recall = z
  .strictObject({
    // `synonyms:` with nothing under it (all entries commented out) is null in YAML: no entries.
    synonyms: z
      .preprocess(
        (v) => v ?? {},
        z.record(
          z.string().min(1).max(40),
          z.array(z.union([z.string().min(1).max(40), z.number()]).transform(String), { error: 'expected a list of words, e.g. [无语, 无奈]' }),
        ),
      )
      .describe('Your own expansions: term → words of the same meaning, used both ways, on top of configs/slang.json'),
  })
  .prefault({ synonyms: {} });

const serve = z
  .strictObject({
    host: text().default('127.0.0.1').describe('Address `emomo serve` listens on (--host); anything but loopback needs a token or --public'),
    port: integer(0, 65535).default(8787).describe('TCP port (--port); 0 picks a free one'),
    public_url: httpUrl()
      .optional()
      .describe('Base URL clients reach the server at (behind a proxy), for the image URLs in results; default: from each request'),
    cors_origins: z
      .array(z.string().refine((v) => v === '*' || isHttpUrl(v), { error: 'expected an origin such as https://chat.example.com, or "*"' }))
      .default([])
      .describe('Web origins whose pages may call the API (CORS); none: no CORS headers at all'),
    max_query_chars: integer(1, 10_000).default(200).describe('Longest query accepted, in characters'),
    max_top_k: integer(1, 1000).default(100).describe('Most results one request may ask for'),
    max_body: byteSize().prefault('8MiB').describe('Largest request body (an uploaded image included)'),
    max_searches: positiveInt().default(4).describe('Searches running at once'),
    max_queued: integer(0).default(256).describe('Searches waiting for a free slot; beyond that, 429 with Retry-After'),
    request_timeout: duration().prefault('10s').describe('Longest a request may take to arrive and be answered (503 past it; at once when the line of searches would not reach it in time)'),
    cache_entries: integer(0).default(1000).describe('Recent complete recall results kept until the library changes (0: no cache)'),
  })
  .prefault({});

export const configSchema = z.strictObject({ database, vlm, embeddings, storage, ingest, sources, recall, serve });

/** The file as validated: snake_case, defaults applied. */
export type ConfigFile = z.output<typeof configSchema>;

/** Keys allowed at `path` (for "did you mean" hints); [] when the path is not an object. */
export function knownKeys(path: readonly PropertyKey[]): string[] {
  let node: unknown = configSchema;
  for (const part of path) {
    node = unwrap(node);
    if (node instanceof z.ZodObject && typeof part === 'string') node = node.shape[part];
    else if (node instanceof z.ZodArray && typeof part === 'number') node = node.element;
    else return [];
  }
  node = unwrap(node);
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/** Looks through default / prefault / optional / transform wrappers. */
function unwrap(node: unknown): unknown {
  for (;;) {
    if (node instanceof z.ZodDefault || node instanceof z.ZodPrefault || node instanceof z.ZodOptional) node = node.unwrap();
    else if (node instanceof z.ZodPipe) node = node.in;
    else return node;
  }
}
