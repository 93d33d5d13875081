/**
 * The composition root: the one place that turns a config into a store,
 * object storage and providers. Commands and tests build the same graph;
 * tests swap in fakes through `overrides`.
 */
import { setMaxListeners } from 'node:events';
import { databasePathProblem, storagePathProblem } from './config/library-paths.js';
import { loadConfig, requireSecret, selectEmbedding } from './config/load.js';
import type { Config, EmbeddingConfig } from './config/types.js';
import { UsageError } from './errors.js';
import { loadThesaurus, type Thesaurus } from './lexicon/thesaurus.js';
import type { Describer, Embedder, Log, ObjectStorage } from './ports.js';
import { LocalEmbedder } from './providers/embedding/local-embedder.js';
import { LazyDescriber, LazyEmbedder } from './providers/lazy.js';
import { localDescriberId } from './providers/vlm/local-description.js';
import type { RemoteOptions } from './providers/remote.js';
import { promptVersion } from './providers/vlm/prompt.js';
import { makeRedactor, type Redactor } from './redact.js';
import { ProviderPauses } from './resilience/provider-pause.js';
import { LocalStorage } from './storage/local-storage.js';
import { s3OptionsFromConfig } from './storage/s3-config.js';
import { S3Storage } from './storage/s3-storage.js';
import { databaseLabel, databaseLocation, databaseSecret, storeOpener, type DatabaseLocation } from './store/open-store.js';
import type { LibraryStore, ServerRunLocks } from './store/ports.js';

/**
 * What a command does with the library: `read` opens it read-only (recall,
 * stats, verify, doctor; works on a read-only mount), `update` writes to an
 * existing one (repair, purge, backfills), `create` may start a new one
 * (ingest). Only `create` ever makes a new database file.
 */
export type LibraryAccess = 'read' | 'update' | 'create';

export interface AppOptions {
  configPath?: string;
  /** A SQLite file or a postgres:// URL (the --db flag); default from the config. */
  dbPath?: string;
  env?: NodeJS.ProcessEnv;
  access?: LibraryAccess;
  /** The run's stop signal: a wait for a provider (backoff, Retry-After pause, outage) ends when it aborts. */
  signal?: AbortSignal;
  /** Where providers report pauses, outages and concurrency changes (once each, not per request). */
  log?: Log;
}

export interface AppOverrides {
  describer?: Describer;
  embedder?: (embedding: EmbeddingConfig) => Embedder;
  storage?: ObjectStorage;
}

export class App {
  readonly redact: Redactor;
  private storeInstance?: LibraryStore;
  private readonly openStore: () => LibraryStore;
  private storageInstance?: ObjectStorage;
  private describerInstance?: Describer;
  private captionReaderInstance?: Describer;
  private thesaurusInstance?: Thesaurus;
  private readonly embedders = new Map<string, Embedder>();
  /** One Retry-After pause per provider base URL and key, shared by everything this run calls. */
  private readonly pauses = new ProviderPauses();

  constructor(
    readonly config: Config,
    private readonly env: NodeJS.ProcessEnv,
    readonly database: DatabaseLocation,
    private readonly overrides: AppOverrides = {},
    readonly access: LibraryAccess = 'create',
    private readonly run: Pick<AppOptions, 'signal' | 'log'> = {},
  ) {
    // Every request waiting on a provider listens to the stop signal: hundreds of listeners are expected.
    if (run.signal) setMaxListeners(0, run.signal);
    const secretNames = [config.vlm.apiKeyEnv, ...config.embeddings.map((e) => e.apiKeyEnv)];
    this.redact = makeRedactor([
      ...secretNames.map((name) => (name ? env[name] : undefined)),
      env.STORAGE_ACCESS_KEY,
      env.STORAGE_SECRET_KEY,
      databaseSecret(database),
    ]);
    this.openStore = storeOpener(database, { readonly: access === 'read', mustExist: access !== 'create' });
  }

  /** The SQLite file (cron locks sit next to it), or the database URL without its password. */
  get dbPath(): string {
    return databaseLabel(this.database);
  }

  /** Run locks held by the database server (PostgreSQL advisory locks); undefined for a SQLite file, whose locks are files next to it. */
  get serverRunLocks(): ServerRunLocks | undefined {
    if (this.database.kind !== 'postgres') return undefined;
    const { store } = this;
    return store.acquireRunLock && { acquireRunLock: (command, scope) => store.acquireRunLock!(command, scope) };
  }

  /** The library's database, opened on first use (commands that never touch it never create it). */
  get store(): LibraryStore {
    return (this.storeInstance ??= this.openStore());
  }

  get storage(): ObjectStorage {
    return (this.storageInstance ??= this.overrides.storage ?? this.buildStorage());
  }

  get describer(): Describer {
    return (this.describerInstance ??= this.overrides.describer ?? this.buildDescriber());
  }

  /**
   * What reads a caption without paying for it (ingest --skip-duplicates):
   * the describer itself when it is the offline one, else an offline one.
   */
  get captionReader(): Describer {
    if (this.config.vlm.provider === 'local') return this.describer;
    const { model, promptVersion } = localDescriberId(1);
    return (this.captionReaderInstance ??= new LazyDescriber(model, promptVersion, async () =>
      (await import('./providers/vlm/local-describer.js')).LocalDescriber.create(),
    ));
  }

  /** Where image collections read memes' pictures from, and the checks every picture passes. */
  get pictureSource(): { storage: ObjectStorage; limits: { maxPixels: number }; maxSide: number } {
    return { storage: this.storage, limits: { maxPixels: this.config.ingest.maxPixels }, maxSide: this.config.vlm.maxSide };
  }

  /** Words of the same meaning for recall's query expansion (read on first use). */
  get thesaurus(): Thesaurus {
    return (this.thesaurusInstance ??= loadThesaurus(this.config.recall.synonyms));
  }

  /** The embedding config chosen by name (or the default), without building its embedder. */
  embeddingConfig(name?: string): EmbeddingConfig {
    return selectEmbedding(this.config, name);
  }

  /** The embedding config chosen by name (or the default) and its embedder. */
  embedding(name?: string): { config: EmbeddingConfig; embedder: Embedder } {
    const config = selectEmbedding(this.config, name);
    let embedder = this.embedders.get(config.name);
    if (!embedder) {
      embedder = this.overrides.embedder?.(config) ?? this.buildEmbedder(config);
      this.embedders.set(config.name, embedder);
    }
    return { config, embedder };
  }

  /** The embedder of an embedding config if it has been built (a health report builds none). */
  builtEmbedder(name?: string): Embedder | undefined {
    return this.embedders.get(selectEmbedding(this.config, name).name);
  }

  /**
   * Closes and forgets a built embedder: the next use builds a fresh one. A
   * server's way back from a provider whose circuit stopped (a run would
   * have ended there; a server goes on).
   */
  async dropEmbedder(name?: string): Promise<void> {
    const key = selectEmbedding(this.config, name).name;
    const embedder = this.embedders.get(key);
    this.embedders.delete(key);
    await embedder?.close?.();
  }

  async close(): Promise<void> {
    await Promise.allSettled([
      this.describerInstance?.close?.(),
      this.captionReaderInstance?.close?.(),
      this.storageInstance?.close?.(),
      ...[...this.embedders.values()].map((e) => e.close?.()),
    ]);
    await this.storeInstance?.close();
  }

  private buildStorage(): ObjectStorage {
    const storage = this.config.storage;
    if (storage.type === 'local') return new LocalStorage(storage.path);
    return new S3Storage(s3OptionsFromConfig(storage, this.env, this.config.file));
  }

  private buildDescriber(): Describer {
    const vlm = this.config.vlm;
    // Frames read of an animated image; its describer's identity says how (prompt version).
    const maxFrames = vlm.animatedFrames === 'first' ? 1 : vlm.maxFrames;
    if (vlm.provider === 'local') {
      // The OCR stack (sharp, onnxruntime) loads only when a first image is described.
      // It reads every chosen frame: a contact sheet is for models taking one image.
      const { model, promptVersion: version } = localDescriberId(maxFrames);
      const workers = vlm.ocrThreads;
      return new LazyDescriber(
        model,
        version,
        async () => (await import('./providers/vlm/local-describer.js')).LocalDescriber.create({ maxFrames, ...(workers ? { workers } : {}) }),
        maxFrames,
      );
    }
    // Read only now: a missing key is a config error (exit 2) before any item is touched.
    const apiKey = requireSecret(this.env, vlm.apiKeyEnv, `vlm "${vlm.provider}"`);
    return new LazyDescriber(
      vlm.model,
      promptVersion(vlm.animatedFrames, maxFrames),
      async () => (await import('./providers/remote.js')).createRemoteDescriber(vlm, this.remoteOptions(apiKey)),
      maxFrames,
    );
  }

  private buildEmbedder(embedding: EmbeddingConfig): Embedder {
    if (embedding.provider === 'local' && embedding.input === 'image') {
      // sharp loads only when a first picture is embedded.
      const model = embedding.model;
      return new LazyEmbedder(model, embedding.dimensions, async () => new (await import('./providers/embedding/local-image-embedder.js')).LocalImageEmbedder(model), 'image', false);
    }
    if (embedding.provider === 'local') {
      return new LocalEmbedder({ dimensions: embedding.dimensions, model: embedding.model });
    }
    const apiKey = requireSecret(this.env, embedding.apiKeyEnv, `embedding "${embedding.name}"`);
    return new LazyEmbedder(
      embedding.model,
      embedding.dimensions,
      async () => (await import('./providers/remote.js')).createRemoteEmbedder(embedding, this.remoteOptions(apiKey)),
      embedding.input,
    );
  }

  private remoteOptions(apiKey: string): RemoteOptions {
    const { retryCount, probeIntervalMs, maxOutageMs } = this.config.ingest;
    return {
      apiKey,
      retries: retryCount,
      probeIntervalMs,
      maxOutageMs,
      pauses: this.pauses,
      ...(this.run.signal ? { stop: this.run.signal } : {}),
      ...(this.run.log ? { log: this.run.log } : {}),
    };
  }
}

export function createApp(options: AppOptions = {}, overrides: AppOverrides = {}): App {
  const env = options.env ?? process.env;
  const config = loadConfig(options.configPath, env);
  const database = databaseLocation(config, options.dbPath);
  if (options.dbPath !== undefined && database.kind === 'sqlite') checkDbFlag(database.path, config);
  return new App(config, env, database, overrides, options.access, { signal: options.signal, log: options.log });
}

/** `--db` gets the checks the config's database.path got (see config/library-paths.ts). */
function checkDbFlag(dbPath: string, config: Config): void {
  const db = databasePathProblem(dbPath);
  if (db) throw new UsageError(`--db ${dbPath}: ${db}`);
  const storage = config.storage.type === 'local' ? storagePathProblem(config.storage.path, dbPath) : undefined;
  if (storage) throw new UsageError(`--db ${dbPath}: the object folder (storage.path ${config.storage.path}) ${storage}`);
}
