/**
 * The small interfaces (ports) the pipeline depends on, and the values that
 * cross them. Adapters live in src/sources, src/providers, src/storage and
 * src/store; the pipeline never imports an adapter directly.
 */
import type { Stage } from './errors.js';
import type { BreakerState } from './resilience/circuit-breaker.js';

// ---------------------------------------------------------------- sources

/** One image a source offers for ingest. */
export interface SourceItem {
  /** e.g. "staging:sample", "chinesebqb", "dir:/abs/path". */
  sourceType: string;
  /** Unique within the source; stable across runs. */
  sourceId: string;
  /** Absolute path of the image file (checked to be inside `root` when listed, and again when read). */
  path: string;
  /**
   * Real path of the source folder the file must stay inside when it is
   * opened (see src/sources/input-file.ts). Every source sets it; without it
   * the file's own folder is the root.
   */
  root?: string;
  category: string;
  tags: string[];
  sourceUrl?: string;
}

/** Something a source could not turn into an item (malformed line, path traversal...). */
export interface SourceProblem {
  sourceType: string;
  /** Best identifier available: the manifest id, or `line N`. */
  sourceId: string;
  stage: Stage;
  reason: string;
  permanent: boolean;
  /**
   * The item this entry will be once the problem is gone (a file missing right
   * now), so that its job remembers the file and `retry-pending` can heal it.
   */
  item?: SourceItem;
}

export type SourceEntry = { kind: 'item'; item: SourceItem } | { kind: 'problem'; problem: SourceProblem };

export interface Source {
  /** The source type recorded with every meme, e.g. "staging:sample". */
  readonly type: string;
  /** Streams entries in a stable order without loading the whole source into memory. */
  entries(signal?: AbortSignal): AsyncIterable<SourceEntry>;
  /** A cheap estimate of how many entries there are, for progress bars. */
  count?(): Promise<number>;
  /** Throws a usage error when the source cannot be read at all; run before the library is opened, so a wrong folder creates nothing. */
  check?(): Promise<void>;
}

/** An image as the sources that offered it know it: where a lost or damaged object may be found again. */
export interface OriginalRef {
  md5: string;
  sources: Array<{ sourceType: string; sourceId: string }>;
}

/** The original files behind the library's objects, looked up again in the sources they came from. */
export interface Originals {
  /** The bytes of each image still found in one of its sources with the same md5; images not found are not yielded. */
  find(refs: readonly OriginalRef[]): AsyncIterable<{ md5: string; bytes: Buffer }>;
}

// ---------------------------------------------------------------- images

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp';

/** What ingest learns from the original bytes, before any provider call. */
export interface ImageFacts {
  md5: string;
  format: ImageFormat;
  /** File extension used for the storage key: jpg, png, gif, webp. */
  ext: string;
  /** Frame size (not the height of all frames stacked). */
  width: number;
  height: number;
  frames: number;
  isAnimated: boolean;
  fileSize: number;
}

// ---------------------------------------------------------------- providers

export interface DescribeInput {
  /**
   * The picture as JPEGs, EXIF-rotated, sRGB, flattened on white, at most
   * 768 px: one for a still; for an animation its representative frames in
   * playing order (at most the describer's `maxFrames`), the first frame first.
   */
  frames: Buffer[];
  category: string;
  tags: string[];
  signal?: AbortSignal;
}

export interface Description {
  ocrText: string;
  description: string;
  emotions: string[];
  /** Token usage reported by a remote model, when there is one. */
  usage?: { promptTokens: number; completionTokens: number };
  /** What reading the image cost: frames read and wall time (recorded by the pipeline). */
  cost?: DescribeCost;
}

export interface DescribeCost {
  frames: number;
  ms: number;
}

export interface Describer {
  /** Model identity stored with each description, e.g. "local-ocr/ppocr-v4". */
  readonly model: string;
  /** Changes whenever the prompt (or local composition) changes. */
  readonly promptVersion: string;
  /** Frames of an animation it reads (default 1: the first frame only). */
  readonly maxFrames?: number;
  describe(input: DescribeInput): Promise<Description>;
  close?(): Promise<void>;
}

export type EmbedMode = 'document' | 'query';

/** A search query as a lexical embedder weighs it (see lexicon/query-plan.ts). */
export interface LexicalQuery {
  text: string;
  /** Words of the same meaning, each weighing `weight` (below 1) of the query word it stands `for`. */
  expansions: ReadonlyArray<{ term: string; for: string; weight: number }>;
  /** Inverse document frequency of an index term (store/fts-terms.ts) in the library. */
  idf(term: string): number;
  /** Whether any meme holds the index term (a term none holds cannot match, it only adds hash collisions). */
  holds(term: string): boolean;
}

export interface Embedder {
  /** Model identity stored with each vector. */
  readonly model: string;
  readonly dimensions: number;
  /** One vector per text, in order; each of `dimensions` floats. */
  embed(texts: string[], mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]>;
  /** Optional: loads the client library (no network call), so a time budget counts only the request. */
  ready?(): Promise<void>;
  /**
   * Lexical embedders only (the offline `local` one): a query vector whose
   * features are weighed by the library (rare terms count more) and extended
   * with the query's expansions. Models that embed meaning do without.
   */
  embedLexicalQuery?(query: LexicalQuery): Float32Array;
  /** Remote providers: the state of their circuit breaker; undefined before the client is built. */
  circuit?(): BreakerState | undefined;
  close?(): Promise<void>;
}

// ---------------------------------------------------------------- object storage

export interface PutResult {
  /** False when an object was already stored under the key (then nothing was written). */
  created: boolean;
}

export interface ObjectStorage {
  /** A short description for logs, e.g. "local:data/objects". */
  readonly label: string;
  /** Stores the bytes unless the key already exists. Atomic: never a partial object. */
  put(key: string, data: Buffer, contentType: string): Promise<PutResult>;
  exists(key: string): Promise<boolean>;
  get(key: string): Promise<Buffer>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Every stored key, streamed. */
  list(): AsyncIterable<string>;
  /** The path or URL where a key can be fetched. */
  url(key: string): string;
  /** Releases connections (remote adapters). */
  close?(): Promise<void>;
  /**
   * Optional: leftovers of interrupted writes that `list()` never yields (local
   * temporary files), older than `olderThanMs` so a running write is never
   * touched. `emomo verify` reports them; `verify --repair` removes them.
   */
  leftovers?(olderThanMs: number): AsyncIterable<string>;
  removeLeftover?(name: string): Promise<void>;
}

// ---------------------------------------------------------------- logging

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | undefined>;

/** A structured log line (the CLI's Reporter.log); services that must report something as it happens take one. */
export type Log = (level: LogLevel, message: string, fields?: LogFields) => void;
