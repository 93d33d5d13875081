/**
 * The composition root: the one place that turns a config into a store,
 * object storage and providers. Commands and tests build the same graph;
 * tests swap in fakes through `overrides`.
 */
import { setMaxListeners } from 'node:events';
import { loadConfig, requireSecret, selectEmbedding } from './config/load.js';
import type { Config, EmbeddingConfig } from './config/types.js';
import type { Describer, Embedder, Log, ObjectStorage } from './ports.js';
import { LocalEmbedder } from './providers/embedding/local-embedder.js';
import { LazyDescriber } from './providers/lazy.js';
import { createRemoteDescriber, createRemoteEmbedder, type RemoteOptions } from './providers/remote.js';
import { LOCAL_DESCRIBER_ID, LocalDescriber } from './providers/vlm/local-describer.js';
import { makeRedactor, type Redactor } from './redact.js';
import { ProviderPauses } from './resilience/provider-pause.js';
import { LocalStorage } from './storage/local-storage.js';
import { s3OptionsFromConfig } from './storage/s3-config.js';
import { S3Storage } from './storage/s3-storage.js';
import { databaseLabel, databaseLocation, databaseSecret, storeOpener, type DatabaseLocation } from './store/open-store.js';
import type { LibraryStore } from './store/ports.js';

export interface AppOptions {
  configPath?: string;
  /** A SQLite file or a postgres:// URL (the --db flag); default from the config. */
  dbPath?: string;
  env?: NodeJS.ProcessEnv;
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
  private readonly embedders = new Map<string, Embedder>();
  /** One Retry-After pause per provider base URL and key, shared by everything this run calls. */
  private readonly pauses = new ProviderPauses();

  constructor(
    readonly config: Config,
    private readonly env: NodeJS.ProcessEnv,
    readonly database: DatabaseLocation,
    private readonly overrides: AppOverrides = {},
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
    this.openStore = storeOpener(database);
  }

  /** The SQLite file (cron locks sit next to it), or the database URL without its password. */
  get dbPath(): string {
    return databaseLabel(this.database);
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

  async close(): Promise<void> {
    await Promise.allSettled([
      this.describerInstance?.close?.(),
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
    if (vlm.provider === 'local') {
      return new LazyDescriber(LOCAL_DESCRIBER_ID.model, LOCAL_DESCRIBER_ID.promptVersion, () =>
        LocalDescriber.create(),
      );
    }
    // Read only now: a missing key is a config error (exit 2) before any item is touched.
    const apiKey = requireSecret(this.env, vlm.apiKeyEnv, `vlm "${vlm.provider}"`);
    return createRemoteDescriber(vlm, this.remoteOptions(apiKey));
  }

  private buildEmbedder(embedding: EmbeddingConfig): Embedder {
    if (embedding.provider === 'local') {
      return new LocalEmbedder({ dimensions: embedding.dimensions, model: embedding.model });
    }
    const apiKey = requireSecret(this.env, embedding.apiKeyEnv, `embedding "${embedding.name}"`);
    return createRemoteEmbedder(embedding, this.remoteOptions(apiKey));
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
  return new App(config, env, databaseLocation(config, options.dbPath), overrides, { signal: options.signal, log: options.log });
}
