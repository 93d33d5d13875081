/**
 * The LibraryStore on PostgreSQL + pgvector: one library shared by many
 * machines. The driver is loaded and the schema brought up to date on first
 * use (a command that never touches the database never connects). Every
 * method runs on the connection pool; a write of several rows is one
 * transaction; verify and purge hold a connection of their own for their
 * temporary tables. The SQL lives in the *-queries.ts files beside this one.
 */
import { ConfigError, UsageError, errorMessage } from '../../errors.js';
import type { Description, SourceItem } from '../../ports.js';
import type {
  AuditResult,
  BackfillCandidate,
  BackfillVector,
  ClaimedJob,
  CollectionInfo,
  CommitInput,
  CommitResult,
  DatabaseRepair,
  DescriptionChange,
  DescriptionKey,
  FailureInput,
  HeldRunLock,
  ImportCounts,
  JobCounts,
  JobFilter,
  JobSchedule,
  KeywordHit,
  KeywordQuery,
  LibraryCounts,
  LibraryDescription,
  LibraryImport,
  LibraryJob,
  LibraryMeme,
  LibraryStore,
  LibraryVariant,
  MemeDetails,
  MemeObject,
  MemeRecord,
  ObjectDeleteBatch,
  PurgeCounts,
  RecalledMeme,
  RecallFilters,
  RunLockHolder,
  StaleFilter,
  StaleMeme,
  StoreDescription,
  StoreStats,
  TermStatistics,
  VectorSearchResult,
} from '../ports.js';
import * as backfill from './backfill-queries.js';
import * as browse from './browse-queries.js';
import * as claims from './claims.js';
import type { PgPool } from './connection.js';
import * as imports from './import-queries.js';
import * as ingest from './ingest-queries.js';
import * as jobs from './job-queries.js';
import { migrate, PG_MIGRATIONS, schemaVersion } from './migrations.js';
import * as deletes from './object-delete-queries.js';
import * as pictures from './picture-queries.js';
import * as purge from './purge-queries.js';
import * as recall from './recall-queries.js';
import * as redescribe from './redescribe-queries.js';
import * as repair from './repair-queries.js';
import { acquireRunLock } from './run-locks.js';
import * as stats from './stats-queries.js';
import { ensureVectorTable, listCollections, type PgCollection } from './vector-tables.js';
import { PgVerifyQueries } from './verify-queries.js';

export interface PostgresStoreOptions {
  /** The URL without its password, for messages. */
  label: string;
  /** Connections this process opens at most (default 10). */
  poolSize?: number;
  /** Read without writing: no migration runs (read-only commands, doctor). */
  readonly?: boolean;
  /** Refuse a database without an emomo library in it instead of creating one (every command but ingest). */
  mustExist?: boolean;
}

export class PostgresStore implements LibraryStore, LibraryImport {
  private opening?: Promise<PgPool>;
  private readonly collections = new Map<string, PgCollection>();
  private readonly searched = new Map<string, recall.PgSearchCollection>();
  private verifyRun?: PgVerifyQueries;

  constructor(
    private readonly url: string,
    private readonly options: PostgresStoreOptions,
  ) {}

  /** The pool, opened (and the schema migrated) on first use. */
  private db(): Promise<PgPool> {
    return (this.opening ??= this.open());
  }

  private async open(): Promise<PgPool> {
    const { PgPool } = await import('./connection.js');
    const pool = new PgPool(this.url, { size: this.options.poolSize ?? 10, settings: recall.RECALL_SESSION_SETTINGS });
    try {
      const client = await pool.connect().catch((err: unknown) => {
        // Nothing was done yet: an unreachable or refusing server is a problem of the configured URL.
        throw new ConfigError('database.url', '', `cannot connect to ${this.options.label}: ${connectError(err)}`);
      });
      try {
        if (this.options.mustExist && (await schemaVersion(client)) === 0) {
          throw new UsageError(`no library in ${this.options.label}; run \`emomo ingest\` first, or point --config / --db at an existing library`);
        }
        if (!this.options.readonly) await migrate(client, this.options.label);
      } finally {
        client.release();
      }
      return pool;
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
  }

  private collection(name: string): PgCollection {
    const coll = this.collections.get(name);
    if (!coll) throw new Error(`collection "${name}" was not opened with ensureCollection()`);
    return coll;
  }

  // ------------------------------------------------------------ ingest

  async ensureCollection(name: string, dims: number, model: string): Promise<void> {
    const pool = await this.db();
    const client = await pool.connect();
    try {
      this.collections.set(name, await ensureVectorTable(client, name, dims, model));
    } finally {
      client.release();
    }
  }

  async hasVector(md5: string, collection: string): Promise<boolean> {
    return ingest.hasVector(await this.db(), md5, collection);
  }

  async findMemeByMd5(md5: string): Promise<MemeRecord | undefined> {
    return ingest.findMemeByMd5(await this.db(), md5);
  }

  async findDescription(key: DescriptionKey): Promise<Description | undefined> {
    return ingest.findDescription(await this.db(), key);
  }

  async findLatestDescription(md5: string): Promise<{ key: DescriptionKey; description: Description } | undefined> {
    return ingest.findLatestDescription(await this.db(), md5);
  }

  async saveDescription(key: DescriptionKey, description: Description): Promise<void> {
    await ingest.saveDescription(await this.db(), key, description);
  }

  async linkSource(item: SourceItem, memeId: number): Promise<boolean> {
    return ingest.linkSource(await this.db(), item, memeId);
  }

  async commitItem(input: CommitInput): Promise<CommitResult> {
    const coll = this.collection(input.collection);
    return (await this.db()).transaction((c) => ingest.commitItem(c, coll, input));
  }

  async isStorageKeyReferenced(key: string): Promise<boolean> {
    return ingest.isStorageKeyReferenced(await this.db(), key);
  }

  // ------------------------------------------------------------ claims and jobs

  async claimItems(md5s: readonly string[], collection: string, owner: string, leaseMs: number): Promise<Set<string>> {
    return (await this.db()).transaction((c) => claims.claimItems(c, md5s, collection, owner, leaseMs));
  }

  async renewClaims(owner: string, leaseMs: number): Promise<number> {
    return claims.renewClaims(await this.db(), owner, leaseMs);
  }

  async releaseItems(md5s: readonly string[], collection: string, owner: string): Promise<void> {
    await claims.releaseItems(await this.db(), md5s, collection, owner);
  }

  async recordFailure(f: FailureInput, schedule: (attempt: number) => JobSchedule): Promise<JobSchedule & { attempt: number }> {
    return (await this.db()).transaction((c) => jobs.recordFailure(c, f, schedule));
  }

  async markJobDone(sourceType: string, sourceId: string, collection: string): Promise<void> {
    await jobs.markJobDone(await this.db(), sourceType, sourceId, collection);
  }

  async claimDueJobs(filter: JobFilter, owner: string, leaseMs: number): Promise<ClaimedJob[]> {
    return jobs.claimDueJobs(await this.db(), filter, owner, leaseMs);
  }

  async releaseJobClaims(owner: string): Promise<number> {
    return jobs.releaseJobClaims(await this.db(), owner);
  }

  async countJobs(collection: string, now: Date): Promise<JobCounts> {
    return jobs.countJobs(await this.db(), collection, now);
  }

  async findJob(sourceType: string, sourceId: string, collection: string): Promise<ClaimedJob | undefined> {
    return jobs.findJob(await this.db(), sourceType, sourceId, collection);
  }

  // ------------------------------------------------------------ backfill

  async findUnembedded(collection: string, afterId: number, limit: number): Promise<BackfillCandidate[]> {
    return backfill.findUnembedded(await this.db(), collection, afterId, limit);
  }

  async countUnembedded(collection: string): Promise<{ described: number; undescribed: number }> {
    return backfill.countUnembedded(await this.db(), collection);
  }

  async commitVectors(collection: string, model: string, batch: readonly BackfillVector[]): Promise<string[]> {
    const coll = this.collection(collection);
    return (await this.db()).transaction((c) => backfill.commitVectors(c, coll, model, batch));
  }

  // ------------------------------------------------------------ redescribe

  async countStale(filter: StaleFilter): Promise<{ memes: number; toDescribe: number }> {
    return redescribe.countStale(await this.db(), filter);
  }

  async findStale(filter: StaleFilter, afterId: number, limit: number): Promise<StaleMeme[]> {
    return redescribe.findStale(await this.db(), filter, afterId, limit);
  }

  async replaceDescription(collection: string, change: DescriptionChange): Promise<boolean> {
    const coll = this.collection(collection);
    return (await this.db()).transaction((c) => redescribe.replaceDescription(c, coll, change));
  }

  // ------------------------------------------------------------ recall

  async collectionInfo(name: string): Promise<CollectionInfo | undefined> {
    const info = await recall.collectionInfo(await this.db(), name);
    if (!info) return undefined;
    this.searched.set(name, info);
    return recall.toCollectionInfo(info);
  }

  async vectorSearch(
    collection: string,
    vector: Float32Array,
    k: number,
    filters: RecallFilters,
    options: { exact?: boolean } = {},
  ): Promise<VectorSearchResult> {
    const db = await this.db();
    const info = this.searched.get(collection) ?? (await recall.collectionInfo(db, collection));
    if (!info) throw new Error(`collection "${collection}" does not exist`);
    return recall.vectorSearch(db, info, vector, k, filters, options);
  }

  async keywordSearch(query: KeywordQuery, k: number, filters: RecallFilters): Promise<KeywordHit[]> {
    return recall.keywordSearch(await this.db(), query, k, filters);
  }

  async recalledMemes(ids: readonly number[]): Promise<Map<number, RecalledMeme>> {
    return recall.recalledMemes(await this.db(), ids);
  }

  async memeDetails(md5: string): Promise<MemeDetails | undefined> {
    return browse.memeDetails(await this.db(), md5);
  }

  async changeMark(): Promise<string | undefined> {
    return browse.changeMark(await this.db());
  }

  async filterValues(): Promise<{ categories: string[]; sources: string[] }> {
    return recall.filterValues(await this.db());
  }

  async documentFrequencies(terms: readonly string[]): Promise<TermStatistics> {
    return recall.documentFrequencies(await this.db(), terms);
  }

  // ------------------------------------------------------------ verify

  private async verify(): Promise<PgVerifyQueries> {
    return (this.verifyRun ??= new PgVerifyQueries(await this.db()));
  }

  async beginVerify(): Promise<void> {
    await (await this.verify()).begin();
  }

  async endVerify(): Promise<void> {
    await this.verifyRun?.end();
  }

  async addListedObjects(keys: readonly string[]): Promise<void> {
    await (await this.verify()).addListedObjects(keys);
  }

  async audit(examples: number): Promise<AuditResult> {
    return (await this.verify()).audit(examples);
  }

  async checkIntegrity(thorough: boolean, limit: number): Promise<string[]> {
    return (await this.verify()).integrity(thorough, limit);
  }

  async memesWithoutObject(afterId: number, limit: number): Promise<MemeObject[]> {
    return (await this.verify()).memesWithoutObject(afterId, limit);
  }

  async memesWithObject(afterId: number, limit: number): Promise<MemeObject[]> {
    return (await this.verify()).memesWithObject(afterId, limit);
  }

  async repairDatabase(examples: number): Promise<DatabaseRepair> {
    return repair.repairDatabase((await this.verify()).client, examples);
  }

  async removeMemeWithoutObject(meme: Pick<MemeObject, 'id' | 'md5' | 'storageKey'>): Promise<boolean> {
    return repair.removeMemeWithoutObject(await this.db(), meme);
  }

  async queueOrphanDeletes(): Promise<number> {
    return (await this.verify()).queueOrphanDeletes();
  }

  // ------------------------------------------------------------ object deletes, purge and stats

  async takeObjectDeletes(owner: string, after: string, limit: number, leaseMs: number): Promise<ObjectDeleteBatch> {
    return (await this.db()).transaction((c) => deletes.takeObjectDeletes(c, owner, after, limit, leaseMs));
  }

  async finishObjectDeletes(owner: string, deleted: readonly string[]): Promise<void> {
    await (await this.db()).transaction((c) => deletes.finishObjectDeletes(c, owner, deleted));
  }

  async purgeCounts(source: string, examples: number): Promise<PurgeCounts> {
    return purge.purgeCounts(await this.db(), source, examples);
  }

  async applyPurge(source: string, examples: number): Promise<PurgeCounts> {
    return purge.applyPurge(await this.db(), source, examples);
  }

  async readStats(topReasons: number): Promise<StoreStats> {
    return stats.readStats(await this.db(), topReasons);
  }

  async countLibrary(): Promise<LibraryCounts> {
    return stats.countLibrary(await this.db());
  }

  // ------------------------------------------------------------ pictures (see PictureStore; the SQL is in picture-queries.ts)

  readonly memesWithoutHashes: LibraryStore['memesWithoutHashes'] = async (afterId, limit) => pictures.memesWithoutHashes(await this.db(), afterId, limit);
  readonly saveHashes: LibraryStore['saveHashes'] = async (rows) => (await this.db()).transaction((c) => pictures.saveHashes(c, rows));
  readonly hashedMemes: LibraryStore['hashedMemes'] = async (afterId, limit) => pictures.hashedMemes(await this.db(), afterId, limit);
  readonly pictureCandidates: LibraryStore['pictureCandidates'] = async (picture) => pictures.pictureCandidates(await this.db(), picture);
  readonly pictureFacts: LibraryStore['pictureFacts'] = async (ids) => pictures.pictureFacts(await this.db(), ids);
  readonly mergeDuplicates: LibraryStore['mergeDuplicates'] = async (group, reason) => pictures.mergeDuplicates(await this.db(), group, reason);
  readonly linkVariants: LibraryStore['linkVariants'] = async (groups) => pictures.linkVariants(await this.db(), groups);
  readonly aliasOf: LibraryStore['aliasOf'] = async (md5) => pictures.aliasOf(await this.db(), md5);
  readonly addAlias: LibraryStore['addAlias'] = async (md5, memeId, reason) => pictures.addAlias(await this.db(), md5, memeId, reason);

  // ------------------------------------------------------------ run locks and moving a library

  async acquireRunLock(command: string, scope: string): Promise<HeldRunLock | { heldBy: RunLockHolder }> {
    return acquireRunLock(await this.db(), command, scope);
  }

  async importMemes(memes: readonly LibraryMeme[]): Promise<ImportCounts> {
    return (await this.db()).transaction((c) => imports.importMemes(c, (name) => this.collection(name), memes));
  }

  async importDescriptions(rows: readonly LibraryDescription[]): Promise<number> {
    return imports.importDescriptions(await this.db(), rows);
  }

  async importJobs(rows: readonly LibraryJob[]): Promise<number> {
    return imports.importJobs(await this.db(), rows);
  }

  async importVariants(rows: readonly LibraryVariant[]): Promise<number> {
    return imports.importVariants(await this.db(), rows);
  }

  // ------------------------------------------------------------ health

  async describe(): Promise<StoreDescription> {
    const db = await this.db();
    const version = await schemaVersion(db);
    const ready = version > 0;
    return {
      location: this.options.label,
      exists: true,
      schemaVersion: version,
      latestVersion: PG_MIGRATIONS.length,
      memes: ready ? (await db.query<{ n: number }>('SELECT count(*) AS n FROM memes')).rows[0]!.n : 0,
      collections: ready ? (await listCollections(db)).map((c) => ({ name: c.name, dims: c.dims, model: c.model })) : [],
    };
  }

  async close(): Promise<void> {
    const opening = this.opening;
    if (!opening) return;
    const pool = await opening.catch(() => undefined);
    if (!pool) return;
    await this.verifyRun?.end();
    await pool.end();
  }
}

/** Node reports a refused connection to a name with several addresses as an AggregateError with no message of its own. */
function connectError(err: unknown): string {
  if (err instanceof AggregateError && !err.message) return [...new Set(err.errors.map(errorMessage))].join('; ');
  return errorMessage(err);
}
