/**
 * emomo for Node programs (`import { openLibrary } from 'emomo'`), and the
 * read side `emomo serve` answers from: recall, one meme, stats, health and
 * the image bytes, in the shapes `recall --json` and the HTTP API print.
 * Read-only: it never writes to the library, and sees what an ingest running
 * beside it commits as soon as it commits.
 */
import { createApp, type App } from '../app.js';
import { UsageError } from '../errors.js';
import { contentTypeFor } from '../images/format.js';
import { libraryStats, type LibraryStats } from '../pipeline/stats-service.js';
import type { ImageFormat, Log } from '../ports.js';
import { isObjectKey } from '../storage/object-key.js';
import { recallJson, type RecallJson } from './recall-json.js';
import { searchLibrary, type RecallOptions } from './recall-search.js';
import { healthReport, type HealthJson } from './health.js';
import { memeJson, type MemeJson } from './meme-json.js';

export interface OpenLibraryOptions {
  /** Config file (default: EMOMO_CONFIG, else configs/config.yaml when present, else the built-in defaults). */
  config?: string;
  /** SQLite file or postgres:// URL (default: EMOMO_DB, else the config's database). */
  db?: string;
  /** Where API keys and overrides are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where provider pauses and outages are reported (default: nowhere). */
  log?: Log;
}

/** An image as `/objects/{key}` serves it: its bytes, or where it is published (S3 / R2 with a public URL). */
export type StoredObject =
  | { kind: 'bytes'; md5: string; contentType: string; read(): Promise<Buffer | undefined> }
  | { kind: 'redirect'; md5: string; url: string };

const MD5 = /^[0-9a-f]{32}$/;

/** How long a provider whose circuit stopped stays stopped before a fresh client is tried (ms). */
const REVIVE_AFTER_MS = 30_000;

/**
 * Opens an existing library read-only (a missing one is refused with a
 * UsageError, as the CLI's read-only commands refuse it). Close it when done.
 */
export async function openLibrary(options: OpenLibraryOptions = {}): Promise<Library> {
  const env = options.env ?? process.env;
  const app = createApp({
    configPath: options.config ?? (env.EMOMO_CONFIG || undefined),
    dbPath: options.db ?? (env.EMOMO_DB || undefined),
    env,
    access: 'read',
    log: options.log,
  });
  try {
    void app.store; // opens it now: a missing or unreadable library fails here, not at the first search
  } catch (err) {
    await app.close();
    throw err;
  }
  return new Library(app);
}

export class Library {
  private revivedAt = new Map<string, number>();

  constructor(readonly app: App) {}

  /**
   * Searches the library (see RecallOptions). Never throws for a slow or
   * failing embedding provider: the result says `partial` or `failed`, with
   * the reason. Throws a UsageError for options out of range.
   */
  async recall(query: string, options: RecallOptions = {}): Promise<RecallJson> {
    await this.revive(options.embedding);
    const { result } = await searchLibrary(this.app, query, options);
    return recallJson(result);
  }

  /** One meme by md5 with its description, OCR text, tags and every source; undefined when unknown. */
  async meme(md5: string): Promise<MemeJson | undefined> {
    if (!MD5.test(md5)) throw new UsageError(`md5 must be 32 lowercase hex digits, got ${JSON.stringify(md5.slice(0, 64))}`);
    const meme = await this.app.store.memeDetails(md5);
    return meme && memeJson(meme, this.app.storage.url(meme.storageKey));
  }

  /** What `emomo stats --json` reports, without listing object storage. */
  async stats(): Promise<LibraryStats> {
    return libraryStats(this.app.store, this.app.storage, { topReasons: 5, countObjects: false });
  }

  /** Whether the library answers, and the state of each embedding provider's circuit (none is built for it). */
  async health(): Promise<HealthJson> {
    return healthReport(this.app);
  }

  /**
   * The image under an object key of the form `{md5[0:2]}/{md5}.{ext}` that a
   * meme of the library refers to; undefined for any other key (nothing
   * outside the library's objects is ever read). `read()` gives undefined
   * when the object itself is missing.
   */
  async object(key: string): Promise<StoredObject | undefined> {
    if (!isObjectKey(key)) return undefined;
    const md5 = key.slice(3, 35);
    const meme = await this.app.store.findMemeByMd5(md5);
    if (!meme || meme.storageKey !== key) return undefined;
    const storage = this.app.config.storage;
    if (storage.type !== 'local' && storage.publicUrl) return { kind: 'redirect', md5, url: this.app.storage.url(key) };
    const read = async () => {
      try {
        return await this.app.storage.get(key);
      } catch (err) {
        if (!(await this.app.storage.exists(key))) return undefined; // lost: verify reports it
        throw err;
      }
    };
    return { kind: 'bytes', md5, contentType: contentTypeFor(meme.format as ImageFormat), read };
  }

  /** A change mark of the library (see BrowseStore.changeMark): what cached results are keyed on. */
  changeMark(): Promise<string | undefined> {
    return this.app.store.changeMark();
  }

  async close(): Promise<void> {
    await this.app.close();
  }

  /**
   * A stopped circuit ends a CLI run; a library that stays open (a server)
   * tries a fresh client now and then instead, so a provider back after a
   * long outage (or a key fixed at the provider) is used again.
   */
  private async revive(embedding?: string): Promise<void> {
    if (this.app.builtEmbedder(embedding)?.circuit?.() !== 'stopped') return;
    const name = this.app.embeddingConfig(embedding).name;
    const now = Date.now();
    if (now - (this.revivedAt.get(name) ?? 0) < REVIVE_AFTER_MS) return;
    this.revivedAt.set(name, now);
    await this.app.dropEmbedder(embedding);
  }
}
