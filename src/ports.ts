/**
 * The small interfaces (ports) the pipeline depends on, and the values that
 * cross them. Adapters live in src/sources, src/providers, src/storage and
 * src/store; the pipeline never imports an adapter directly.
 */
import type { Stage } from './errors.js';

// ---------------------------------------------------------------- sources

/** One image a source offers for ingest. */
export interface SourceItem {
  /** e.g. "staging:sample", "chinesebqb", "dir:/abs/path". */
  sourceType: string;
  /** Unique within the source; stable across runs. */
  sourceId: string;
  /** Absolute path of the image file (already checked to be inside the source root). */
  path: string;
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
}

export type SourceEntry = { kind: 'item'; item: SourceItem } | { kind: 'problem'; problem: SourceProblem };

export interface Source {
  /** The source type recorded with every meme, e.g. "staging:sample". */
  readonly type: string;
  /** Streams entries in a stable order without loading the whole source into memory. */
  entries(signal?: AbortSignal): AsyncIterable<SourceEntry>;
  /** A cheap estimate of how many entries there are, for progress bars. */
  count?(): Promise<number>;
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

export interface Embedder {
  /** Model identity stored with each vector. */
  readonly model: string;
  readonly dimensions: number;
  /** One vector per text, in order; each of `dimensions` floats. */
  embed(texts: string[], mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]>;
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
