/**
 * The composition root: the one place that turns a config into a store,
 * object storage and providers. Commands and tests build the same graph;
 * tests swap in fakes through `overrides`.
 */
import { loadConfig, requireSecret, selectEmbedding } from './config/load.js';
import type { Config, EmbeddingConfig } from './config/types.js';
import type { Describer, Embedder, ObjectStorage } from './ports.js';
import { LocalEmbedder } from './providers/embedding/local-embedder.js';
import { LazyDescriber } from './providers/lazy.js';
import { createRemoteDescriber, createRemoteEmbedder } from './providers/remote.js';
import { LocalDescriber, localDescriberId } from './providers/vlm/local-describer.js';
import { makeRedactor, type Redactor } from './redact.js';
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

  constructor(
    readonly config: Config,
    private readonly env: NodeJS.ProcessEnv,
    readonly database: DatabaseLocation,
    private readonly overrides: AppOverrides = {},
  ) {
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
      // The local describer reads every chosen frame; a contact sheet is for models taking one image.
      const maxFrames = vlm.animatedFrames === 'first' ? 1 : vlm.maxFrames;
      const { model, promptVersion } = localDescriberId(maxFrames);
      const workers = vlm.ocrThreads;
      return new LazyDescriber(model, promptVersion, () => LocalDescriber.create({ maxFrames, ...(workers ? { workers } : {}) }), maxFrames);
    }
    // Read only now: a missing key is a config error (exit 2) before any item is touched.
    const apiKey = requireSecret(this.env, vlm.apiKeyEnv, `vlm "${vlm.provider}"`);
    return createRemoteDescriber(vlm, { apiKey, retries: this.config.ingest.retryCount });
  }

  private buildEmbedder(embedding: EmbeddingConfig): Embedder {
    if (embedding.provider === 'local') {
      return new LocalEmbedder({ dimensions: embedding.dimensions, model: embedding.model });
    }
    const apiKey = requireSecret(this.env, embedding.apiKeyEnv, `embedding "${embedding.name}"`);
    return createRemoteEmbedder(embedding, { apiKey, retries: this.config.ingest.retryCount });
  }
}

export function createApp(options: AppOptions = {}, overrides: AppOverrides = {}): App {
  const env = options.env ?? process.env;
  const config = loadConfig(options.configPath, env);
  return new App(config, env, databaseLocation(config, options.dbPath), overrides);
}
