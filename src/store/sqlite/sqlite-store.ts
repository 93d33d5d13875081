/**
 * The LibraryStore on SQLite + sqlite-vec. better-sqlite3 is synchronous and
 * fast: every method does its work (and its whole transaction) at once and
 * hands back a settled Promise, so no transaction ever spans an `await`. The
 * SQL lives in the *-queries.ts files beside this one; the connection stays
 * private to this adapter.
 */
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
  JobCounts,
  JobFilter,
  JobSchedule,
  KeywordHit,
  KeywordQuery,
  LibraryCounts,
  LibraryDescription,
  LibraryExport,
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
  StaleFilter,
  StaleMeme,
  TermStatistics,
  StoreDescription,
  StoreStats,
  VectorSearchResult,
} from '../ports.js';
import { changeMark, memeDetails } from './browse-queries.js';
import { commitVectors, countUnembedded, findUnembedded } from './backfill-queries.js';
import { claimItems, registerClaimFunctions, releaseItems, renewClaims } from './claims.js';
import { readingDamaged } from './damage.js';
import { openDatabase, type Db } from './database.js';
import { SqliteExportQueries } from './export-queries.js';
import * as ingest from './ingest-queries.js';
import { claimDueJobs, countJobs, findJob, jobKey, markJobDone, recordFailure, releaseJobClaims } from './job-queries.js';
import { schemaVersion, migrations } from './migrations.js';
import { countStale, findStale, replaceDescription } from './redescribe-queries.js';
import { finishObjectDeletes, takeObjectDeletes } from './object-delete-queries.js';
import { SqlitePictureQueries } from './picture-queries.js';
import { SqlitePurgeQueries } from './purge-queries.js';
import { SqliteKeywordQueries } from './keyword-queries.js';
import { SqliteRecallQueries, type SqliteCollection } from './recall-queries.js';
import { SqliteRepairQueries } from './repair-queries.js';
import { SqliteStatsQueries } from './stats-queries.js';
import { ensureVectorTable, listCollections, type CollectionRow } from './vector-tables.js';
import { SqliteVerifyQueries } from './verify-queries.js';

export interface SqliteStoreOptions {
  /** Open without writing: no file is created, no migration runs (read-only commands, doctor). */
  readonly?: boolean;
  /** Refuse a missing file instead of creating an empty library (every command but ingest). */
  mustExist?: boolean;
}

export class SqliteStore implements LibraryStore, LibraryExport {
  private readonly db: Db;
  private readonly collections = new Map<string, CollectionRow>();
  private readonly recall: SqliteRecallQueries;
  private readonly keyword: SqliteKeywordQueries;
  private readonly searched = new Map<string, SqliteCollection>();
  private readonly verify: SqliteVerifyQueries;
  private readonly repair: SqliteRepairQueries;
  private readonly purge: SqlitePurgeQueries;
  private readonly pictures: SqlitePictureQueries;
  private exporter?: SqliteExportQueries;

  constructor(
    private readonly file: string,
    options: SqliteStoreOptions = {},
  ) {
    this.db = readingDamaged(file, () => openDatabase(file, { readonly: options.readonly ?? false, mustExist: options.mustExist ?? false }));
    // Same-host claims end when their owner's pid is gone (claims.ts, verify's in-flight check).
    registerClaimFunctions(this.db);
    this.recall = new SqliteRecallQueries(this.db);
    this.keyword = new SqliteKeywordQueries(this.db);
    this.verify = new SqliteVerifyQueries(this.db);
    this.repair = new SqliteRepairQueries(this.db);
    this.purge = new SqlitePurgeQueries(this.db);
    this.pictures = new SqlitePictureQueries(this.db);
  }

  private collection(name: string): CollectionRow {
    const row = this.collections.get(name);
    if (!row) throw new Error(`collection "${name}" was not opened with ensureCollection()`);
    return row;
  }

  // ------------------------------------------------------------ ingest

  async ensureCollection(name: string, dims: number, model: string): Promise<void> {
    this.collections.set(name, ensureVectorTable(this.db, name, dims, model));
  }

  async hasVector(md5: string, collection: string): Promise<boolean> {
    return ingest.hasVector(this.db, md5, collection);
  }

  async findMemeByMd5(md5: string): Promise<MemeRecord | undefined> {
    return ingest.findMemeByMd5(this.db, md5);
  }

  async findDescription(key: DescriptionKey): Promise<Description | undefined> {
    return ingest.findDescription(this.db, key);
  }

  async findLatestDescription(md5: string): Promise<{ key: DescriptionKey; description: Description } | undefined> {
    return ingest.findLatestDescription(this.db, md5);
  }

  async saveDescription(key: DescriptionKey, description: Description): Promise<void> {
    ingest.saveDescription(this.db, key, description);
  }

  async linkSource(item: SourceItem, memeId: number): Promise<boolean> {
    return ingest.linkSource(this.db, item, memeId);
  }

  async commitItem(input: CommitInput): Promise<CommitResult> {
    return ingest.commitItem(this.db, this.collection(input.collection), input);
  }

  async isStorageKeyReferenced(key: string): Promise<boolean> {
    return ingest.isStorageKeyReferenced(this.db, key);
  }

  // ------------------------------------------------------------ claims and jobs

  async claimItems(md5s: readonly string[], collection: string, owner: string, leaseMs: number): Promise<Set<string>> {
    return claimItems(this.db, md5s, collection, owner, leaseMs);
  }

  async renewClaims(owner: string, leaseMs: number): Promise<number> {
    return renewClaims(this.db, owner, leaseMs);
  }

  async releaseItems(md5s: readonly string[], collection: string, owner: string): Promise<void> {
    releaseItems(this.db, md5s, collection, owner);
  }

  async recordFailure(f: FailureInput, schedule: (attempt: number) => JobSchedule): Promise<JobSchedule & { attempt: number }> {
    return recordFailure(this.db, f, schedule);
  }

  async markJobDone(sourceType: string, sourceId: string, collection: string): Promise<void> {
    markJobDone(this.db, sourceType, sourceId, collection);
  }

  async claimDueJobs(filter: JobFilter, owner: string, leaseMs: number): Promise<ClaimedJob[]> {
    return claimDueJobs(this.db, filter, owner, leaseMs);
  }

  async releaseJobClaims(owner: string): Promise<number> {
    return releaseJobClaims(this.db, owner);
  }

  async countJobs(collection: string, now: Date): Promise<JobCounts> {
    return countJobs(this.db, collection, now);
  }

  async findJob(sourceType: string, sourceId: string, collection: string): Promise<ClaimedJob | undefined> {
    return findJob(this.db, jobKey(sourceType, sourceId, collection));
  }

  // ------------------------------------------------------------ backfill

  async findUnembedded(collection: string, afterId: number, limit: number): Promise<BackfillCandidate[]> {
    return findUnembedded(this.db, collection, afterId, limit);
  }

  async countUnembedded(collection: string): Promise<{ described: number; undescribed: number }> {
    return countUnembedded(this.db, collection);
  }

  async commitVectors(collection: string, model: string, batch: readonly BackfillVector[]): Promise<string[]> {
    return commitVectors(this.db, this.collection(collection), model, batch);
  }

  // ------------------------------------------------------------ redescribe

  async countStale(filter: StaleFilter): Promise<{ memes: number; toDescribe: number }> {
    return countStale(this.db, filter);
  }

  async findStale(filter: StaleFilter, afterId: number, limit: number): Promise<StaleMeme[]> {
    return findStale(this.db, filter, afterId, limit);
  }

  async replaceDescription(collection: string, change: DescriptionChange): Promise<boolean> {
    return replaceDescription(this.db, this.collection(collection), change);
  }

  // ------------------------------------------------------------ recall

  async collectionInfo(name: string): Promise<CollectionInfo | undefined> {
    const info = this.recall.collection(name);
    if (!info) return undefined;
    this.searched.set(name, info);
    const { fast: _fast, ...port } = info;
    return port;
  }

  async vectorSearch(
    collection: string,
    vector: Float32Array,
    k: number,
    filters: RecallFilters,
    options: { exact?: boolean } = {},
  ): Promise<VectorSearchResult> {
    const info = this.searched.get(collection) ?? this.recall.collection(collection);
    if (!info) throw new Error(`collection "${collection}" does not exist`);
    return this.recall.vectorSearch(info, vector, k, filters, { exact: options.exact });
  }

  async keywordSearch(query: KeywordQuery, k: number, filters: RecallFilters): Promise<KeywordHit[]> {
    return this.keyword.keywordSearch(query, k, filters);
  }

  async recalledMemes(ids: readonly number[]): Promise<Map<number, RecalledMeme>> {
    return this.recall.memes(ids);
  }

  async filterValues(): Promise<{ categories: string[]; sources: string[] }> {
    return this.recall.filterValues();
  }

  async documentFrequencies(terms: readonly string[]): Promise<TermStatistics> {
    return this.keyword.documentFrequencies(terms);
  }

  // ------------------------------------------------------------ browse

  async memeDetails(md5: string): Promise<MemeDetails | undefined> {
    return memeDetails(this.db, md5);
  }

  async changeMark(): Promise<string | undefined> {
    return changeMark(this.db);
  }

  // ------------------------------------------------------------ verify (a damaged file reads as DamagedLibraryError)

  async beginVerify(): Promise<void> {
    this.damaged(() => this.verify.begin());
  }

  async endVerify(): Promise<void> {
    if (this.db.open) this.verify.end();
  }

  async addListedObjects(keys: readonly string[]): Promise<void> {
    this.verify.addListedObjects(keys);
  }

  async audit(examples: number): Promise<AuditResult> {
    return this.damaged(() => this.verify.audit(examples));
  }

  async checkIntegrity(thorough: boolean, limit: number): Promise<string[]> {
    return this.damaged(() => this.verify.integrity(thorough, limit));
  }

  async memesWithoutObject(afterId: number, limit: number): Promise<MemeObject[]> {
    return this.damaged(() => this.verify.memesWithoutObject(afterId, limit));
  }

  async memesWithObject(afterId: number, limit: number): Promise<MemeObject[]> {
    return this.damaged(() => this.verify.memesWithObject(afterId, limit));
  }

  async repairDatabase(examples: number): Promise<DatabaseRepair> {
    return this.damaged(() => this.repair.repairDatabase(examples));
  }

  async removeMemeWithoutObject(meme: Pick<MemeObject, 'id' | 'md5' | 'storageKey'>): Promise<boolean> {
    return this.damaged(() => this.repair.removeMemeWithoutObject(meme));
  }

  async queueOrphanDeletes(): Promise<number> {
    return this.damaged(() => this.verify.queueOrphanDeletes());
  }

  // ------------------------------------------------------------ object deletes, purge and stats

  async takeObjectDeletes(owner: string, after: string, limit: number, leaseMs: number): Promise<ObjectDeleteBatch> {
    return takeObjectDeletes(this.db, owner, after, limit, leaseMs);
  }

  async finishObjectDeletes(owner: string, deleted: readonly string[]): Promise<void> {
    finishObjectDeletes(this.db, owner, deleted);
  }

  async purgeCounts(source: string, examples: number): Promise<PurgeCounts> {
    return this.purge.counts(source, examples);
  }

  async applyPurge(source: string, examples: number): Promise<PurgeCounts> {
    return this.damaged(() => this.purge.apply(source, examples));
  }

  async readStats(topReasons: number): Promise<StoreStats> {
    return new SqliteStatsQueries(this.db).read(topReasons);
  }

  // ------------------------------------------------------------ pictures (see PictureStore; the SQL is in picture-queries.ts)

  readonly memesWithoutHashes: LibraryStore['memesWithoutHashes'] = async (afterId, limit) => this.pictures.memesWithoutHashes(afterId, limit);
  readonly saveHashes: LibraryStore['saveHashes'] = async (rows) => this.pictures.saveHashes(rows);
  readonly hashedMemes: LibraryStore['hashedMemes'] = async (afterId, limit) => this.pictures.hashedMemes(afterId, limit);
  readonly pictureCandidates: LibraryStore['pictureCandidates'] = async (picture) => this.pictures.pictureCandidates(picture);
  readonly pictureFacts: LibraryStore['pictureFacts'] = async (ids) => this.pictures.pictureFacts(ids);
  readonly mergeDuplicates: LibraryStore['mergeDuplicates'] = async (group, reason) => this.damaged(() => this.pictures.mergeDuplicates(group, reason));
  readonly linkVariants: LibraryStore['linkVariants'] = async (groups) => this.pictures.linkVariants(groups);
  readonly aliasOf: LibraryStore['aliasOf'] = async (md5) => this.pictures.aliasOf(md5);
  readonly addAlias: LibraryStore['addAlias'] = async (md5, memeId, reason) => this.pictures.addAlias(md5, memeId, reason);
  async countLibrary(): Promise<LibraryCounts> {
    return new SqliteExportQueries(this.db).counts();
  }

  // ------------------------------------------------------------ moving a library (the source side)

  async beginExport(): Promise<void> {
    // One read transaction: every page comes from the same snapshot, whatever other processes write meanwhile.
    if (!this.db.inTransaction) this.db.exec('BEGIN');
    this.db.prepare('SELECT count(*) FROM memes').get();
  }

  async endExport(): Promise<void> {
    if (this.db.open && this.db.inTransaction) this.db.exec('COMMIT');
  }

  async exportCollections(): Promise<Array<Omit<CollectionInfo, 'size'>>> {
    return listCollections(this.db).map((c) => ({ name: c.name, dims: c.dims, model: c.model }));
  }

  async exportMemes(afterId: number, limit: number): Promise<LibraryMeme[]> {
    return (this.exporter ??= new SqliteExportQueries(this.db)).memes(afterId, limit);
  }

  async exportDescriptions(afterSeq: number, limit: number): Promise<LibraryDescription[]> {
    return (this.exporter ??= new SqliteExportQueries(this.db)).descriptions(afterSeq, limit);
  }

  async exportJobs(afterId: number, limit: number): Promise<LibraryJob[]> {
    return (this.exporter ??= new SqliteExportQueries(this.db)).jobs(afterId, limit);
  }

  async exportVariants(afterId: number, limit: number): Promise<LibraryVariant[]> {
    return (this.exporter ??= new SqliteExportQueries(this.db)).variants(afterId, limit);
  }

  // ------------------------------------------------------------ health

  async describe(): Promise<StoreDescription> {
    const version = schemaVersion(this.db);
    const ready = version > 0;
    return {
      location: this.file,
      exists: true,
      schemaVersion: version,
      latestVersion: migrations.length,
      memes: ready ? (this.db.prepare('SELECT count(*) FROM memes').pluck().get() as number) : 0,
      collections: ready ? listCollections(this.db).map((c) => ({ name: c.name, dims: c.dims, model: c.model })) : [],
    };
  }

  private damaged<T>(fn: () => T): T {
    return readingDamaged(this.file, fn);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
