/**
 * The resolved configuration the rest of emomo sees: camelCase, defaults
 * applied, `${VAR}` substituted, `base_url_env` resolved. API keys are not
 * here on purpose: only their variable names travel (see `requireSecret`).
 * Keys, defaults and descriptions live in schema.ts.
 */

export type VlmProvider = 'local' | 'openai';
export type EmbeddingProvider = 'local' | 'jina' | 'openai' | 'modelscope';
/** What a collection's vectors are made from. */
export type EmbeddingInput = 'text' | 'image';
export type StorageType = 'local' | 's3' | 'r2';

export interface VlmConfig {
  provider: VlmProvider;
  /** "" for the local describer; always non-empty for openai. */
  model: string;
  baseUrl?: string;
  /** Name of the env variable holding the key, never the key. */
  apiKeyEnv?: string;
  timeoutMs: number;
  /** Requests per minute; undefined means no limit. */
  rpm?: number;
  concurrency: number;
  /** Longest side, in pixels, of the image sent to the model. */
  maxSide: number;
  /** How the frames of an animated image reach the describer. */
  animatedFrames: AnimatedFrames;
  /** Representative frames read from an animated image (unless animatedFrames is first). */
  maxFrames: number;
  /** Local describer: OCR worker threads; undefined means one per core but one (1 to 4). */
  ocrThreads?: number;
}

export type AnimatedFrames = 'multi' | 'contact_sheet' | 'first';

export interface EmbeddingConfig {
  name: string;
  provider: EmbeddingProvider;
  /** `image`: memes are embedded from their picture (the collection holds image vectors). */
  input: EmbeddingInput;
  model: string;
  /** Name of the env variable holding the key, never the key. */
  apiKeyEnv?: string;
  baseUrl?: string;
  dimensions: number;
  collection: string;
  /** Exactly one embedding in a Config has this set. */
  isDefault: boolean;
  batchSize: number;
  rpm?: number;
  timeoutMs: number;
  /** Requests in flight at once. */
  concurrency: number;
}

export interface StorageConfig {
  type: StorageType;
  /** Root directory for `local`; ignored by s3 / r2. */
  path: string;
  endpoint?: string;
  region: string;
  /** Always set for s3 / r2. */
  bucket?: string;
  publicUrl?: string;
  forcePathStyle: boolean;
}

export interface IngestConfig {
  workers: number;
  batchSize: number;
  /** Retries of one provider call inside a run. */
  retryCount: number;
  /** While a provider is down, one probe request this often. */
  probeIntervalMs: number;
  /** How long a run waits for a provider that is down before it stops. */
  maxOutageMs: number;
  /** Attempts of one item across runs before its job is marked dead. */
  maxAttempts: number;
  maxPixels: number;
  /** Largest input file read, in bytes. */
  maxFileBytes: number;
  /** 0 = no minimum. */
  minSide: number;
}

/** `emomo serve`: where it listens and the limits it enforces. */
export interface ServeConfig {
  host: string;
  port: number;
  publicUrl?: string;
  corsOrigins: string[];
  maxQueryChars: number;
  maxTopK: number;
  maxBodyBytes: number;
  /** Searches running at once. */
  maxSearches: number;
  /** Searches waiting for a slot before requests are refused with 429. */
  maxQueued: number;
  requestTimeoutMs: number;
  /** Complete recall results kept until the library changes; 0 = no cache. */
  cacheEntries: number;
}

export interface Config {
  /** The file this came from, as given, or "(built-in defaults)". */
  file: string;
  /**
   * `url` (a PostgreSQL library) wins over the SQLite `path` when set.
   * `poolSize`: PostgreSQL connections per process; `leaseMs`: how long a
   * work claim outlives a worker that stopped renewing it.
   */
  database: { path: string; url?: string; poolSize: number; leaseMs: number };
  vlm: VlmConfig;
  embeddings: EmbeddingConfig[];
  storage: StorageConfig;
  ingest: IngestConfig;
  sources: { stagingPath: string; chinesebqbPath: string; chinesebqbEnabled: boolean };
  /** `synonyms`: the user's query expansions, term → words of the same meaning. */
  recall: { synonyms: Record<string, string[]> };
  serve: ServeConfig;
}
