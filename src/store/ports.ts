/**
 * Every database port, in one place. Each backend (SQLite + sqlite-vec in
 * src/store/sqlite/, PostgreSQL + pgvector next to it) implements all of them
 * as one `LibraryStore`; services take the narrow interface they need. Every
 * method returns a Promise, takes plain values (search terms, not engine
 * syntax) and keeps index tuning inside the adapter. One contract suite
 * (test/integration/store-contract.test.ts) runs against every backend.
 */
import type { Stage } from '../errors.js';
import type { Description, ImageFacts, SourceItem } from '../ports.js';

// ---------------------------------------------------------------- ingest

export interface MemeRecord {
  id: number;
  md5: string;
  storageKey: string;
  sourceType: string;
  sourceId: string;
  width: number;
  height: number;
  format: string;
  isAnimated: boolean;
  category: string;
  tags: string[];
}

export interface DescriptionKey {
  md5: string;
  vlmModel: string;
  promptVersion: string;
}

export interface CommitInput {
  item: SourceItem;
  facts: ImageFacts;
  storageKey: string;
  description: Description;
  descriptionKey: DescriptionKey;
  collection: string;
  embeddingModel: string;
  vector: Float32Array;
  /** Replace a vector already stored for (md5, collection) instead of failing. */
  replace: boolean;
}

export interface CommitResult {
  memeId: number;
  memeCreated: boolean;
}

/** What the item pipeline (ingest, retry-pending) needs from the database. */
export interface IngestStore {
  /** Creates the collection (and its vector index) or checks its dimension (DimensionMismatchError). */
  ensureCollection(name: string, dims: number, model: string): Promise<void>;
  hasVector(md5: string, collection: string): Promise<boolean>;
  findMemeByMd5(md5: string): Promise<MemeRecord | undefined>;
  findDescription(key: DescriptionKey): Promise<Description | undefined>;
  /** The newest description of an image under any model, for reuse by another collection. */
  findLatestDescription(md5: string): Promise<{ key: DescriptionKey; description: Description } | undefined>;
  /** Stores a paid description; a second save of the same key keeps the first. */
  saveDescription(key: DescriptionKey, description: Description): Promise<void>;
  /** Records that a source item is this known image (a skip still links its source). */
  linkSource(item: SourceItem, memeId: number): Promise<void>;
  /** Meme, source link, vector row, vector and keyword row in one transaction; the item's job is marked done. */
  commitItem(input: CommitInput): Promise<CommitResult>;
  isStorageKeyReferenced(key: string): Promise<boolean>;
}

// ---------------------------------------------------------------- claims

/**
 * Cross-process claims on images: overlapping runs (on one machine or many)
 * never describe or embed the same image twice. A claim is a lease: it lasts
 * `leaseMs` from the database's own clock (so hosts with skewed clocks
 * agree), the live owner extends it with `renewClaims`, and once it has
 * expired another owner may take the image over.
 */
export interface ClaimStore {
  /** Claims as many of (md5, collection) as are free, expired or already this owner's; returns the md5s now held. */
  claimItems(md5s: readonly string[], collection: string, owner: string, leaseMs: number): Promise<Set<string>>;
  /** The heartbeat: every item and job claim `owner` still holds now lasts `leaseMs` from now. Returns how many. */
  renewClaims(owner: string, leaseMs: number): Promise<number>;
  /** Ends this owner's claims on the given images (another owner's claim is never touched). */
  releaseItems(md5s: readonly string[], collection: string, owner: string): Promise<void>;
}

// ---------------------------------------------------------------- jobs

/** The parts of a SourceItem a job stores so `retry-pending` can rebuild it. */
export interface JobPayload {
  path: string;
  category: string;
  tags: string[];
  sourceUrl?: string;
}

export type JobStatus = 'pending' | 'processing' | 'done' | 'failed' | 'dead';

export interface FailureInput {
  sourceType: string;
  sourceId: string;
  collection: string;
  path?: string;
  stage: Stage;
  reason: string;
  permanent: boolean;
  /** What a retry needs to rebuild the source item (absent for source problems). */
  payload?: JobPayload;
}

export interface JobSchedule {
  status: 'failed' | 'dead';
  nextRetryAt: Date | null;
}

export interface JobFilter {
  collection: string;
  /** Jobs whose next retry is at or before this are due (the caller's clock, as `recordFailure` scheduled them). */
  now: Date;
  /** Only jobs with a larger id (a run takes each job at most once). */
  afterId: number;
  limit: number;
  includeDead: boolean;
  /** Only jobs whose reason contains this text (case-insensitive). */
  reason?: string;
}

export interface ClaimedJob {
  id: number;
  sourceType: string;
  sourceId: string;
  collection: string;
  path?: string;
  stage: string;
  reason: string;
  attempts: number;
  /** The status before this claim. */
  status: JobStatus;
  nextRetryAt?: string;
  payload?: JobPayload;
}

export type JobCounts = Record<JobStatus | 'due', number>;

/** Failed work as a retry queue (see src/pipeline/failure-policy.ts for the lifecycle). */
export interface JobQueue {
  /** Upserts the job of a failed item; `schedule` (pure) turns its attempt number into the next state. */
  recordFailure(failure: FailureInput, schedule: (attempt: number) => JobSchedule): Promise<JobSchedule & { attempt: number }>;
  markJobDone(sourceType: string, sourceId: string, collection: string): Promise<void>;
  /**
   * Atomically marks the due jobs `processing` for `owner` under a lease of
   * `leaseMs` and returns them. A job held by another owner whose lease has
   * expired is due again.
   */
  claimDueJobs(filter: JobFilter, owner: string, leaseMs: number): Promise<ClaimedJob[]>;
  /** Unfinished claims of `owner` go back to `pending`, due at once, attempts unchanged. */
  releaseJobClaims(owner: string): Promise<number>;
  countJobs(collection: string, now: Date): Promise<JobCounts>;
  findJob(sourceType: string, sourceId: string, collection: string): Promise<ClaimedJob | undefined>;
}

// ---------------------------------------------------------------- backfill

/** A described meme with no vector in a collection yet. */
export interface BackfillCandidate {
  memeId: number;
  md5: string;
  category: string;
  isAnimated: boolean;
  sourceType: string;
  tags: string[];
  descriptionKey: DescriptionKey;
  description: Description;
}

export interface BackfillVector {
  candidate: BackfillCandidate;
  vector: Float32Array;
}

/** What `emomo embed` needs: described memes missing a vector, and batch commits. */
export interface BackfillStore {
  /** The next described memes (by id, after `afterId`) with no vector in the collection, each with its latest description. */
  findUnembedded(collection: string, afterId: number, limit: number): Promise<BackfillCandidate[]>;
  countUnembedded(collection: string): Promise<{ described: number; undescribed: number }>;
  /** One transaction per batch; returns the md5s written (others got a vector meanwhile, or their meme is gone). */
  commitVectors(collection: string, model: string, batch: readonly BackfillVector[]): Promise<string[]>;
}

// ---------------------------------------------------------------- redescribe

/** Which memes `redescribe` reads again: those whose vector in `collection` came from another describer or prompt. */
export interface StaleFilter {
  collection: string;
  /** The describer's identity now; vectors made from this description are current. */
  current: { vlmModel: string; promptVersion: string };
  /** Animated memes only. */
  animatedOnly: boolean;
}

export interface StaleMeme {
  memeId: number;
  md5: string;
  storageKey: string;
  category: string;
  tags: string[];
  /** A description under the current identity exists already: no describer call needed. */
  described: boolean;
}

/** What `emomo redescribe` needs: stale memes, and re-pointing a vector at a new description. */
export interface RedescribeStore {
  /** How many memes match, and how many of those still need a describer call. */
  countStale(filter: StaleFilter): Promise<{ memes: number; toDescribe: number }>;
  /** The next matching memes by id, after `afterId`. */
  findStale(filter: StaleFilter, afterId: number, limit: number): Promise<StaleMeme[]>;
  /**
   * The meme's vector in the collection, its description key and its keyword
   * row replaced in one transaction; false (nothing written) when the meme has
   * no vector there any more.
   */
  replaceDescription(collection: string, change: DescriptionChange): Promise<boolean>;
}

export interface DescriptionChange {
  memeId: number;
  md5: string;
  embeddingModel: string;
  descriptionKey: DescriptionKey;
  description: Description;
  vector: Float32Array;
}

// ---------------------------------------------------------------- recall

/** Every filter must hold; an empty `tags` list means no tag filter. */
export interface RecallFilters {
  tags: string[];
  category?: string;
  /** true: animated only; false: static only. */
  animated?: boolean;
  /** memes.source_type, or any source the image was also seen in. */
  source?: string;
}

export interface CollectionInfo {
  name: string;
  dims: number;
  model: string;
  /** Vectors stored in the collection. */
  size: number;
}

export interface VectorHit {
  memeId: number;
  /** Cosine distance, 0..2; similarity = 1 − distance. */
  distance: number;
}

/** How the adapter searched: every vector scored (`exact`), or through its approximate index. */
export type VectorMethod = 'exact' | 'quantized';

export interface VectorSearchResult {
  hits: VectorHit[];
  method: VectorMethod;
  /** Rows the adapter scored to answer (for --explain and benchmarks). */
  candidates: number;
}

/** The raw query text: each adapter segments it with src/store/fts-terms.ts and builds its own syntax. */
export interface KeywordQuery {
  text: string;
}

export interface KeywordHit {
  memeId: number;
  /** BM25-like relevance; higher is better. */
  bm25: number;
  /** The meme's caption is exactly the query (compared as indexed terms); these rank first. */
  exact: boolean;
}

export interface RecalledMeme {
  id: number;
  md5: string;
  storageKey: string;
  category: string;
  tags: string[];
  isAnimated: boolean;
  sourceType: string;
  description: string;
  ocrText: string;
  /** The keyword index's terms of the meme (caption, description, tags), to explain keyword matches. */
  indexedTerms: string[];
}

export interface RecallIndex {
  collectionInfo(name: string): Promise<CollectionInfo | undefined>;
  /** The k nearest memes passing every filter; k come back whenever at least k match. */
  vectorSearch(
    collection: string,
    vector: Float32Array,
    k: number,
    filters: RecallFilters,
    options?: { exact?: boolean },
  ): Promise<VectorSearchResult>;
  /** Best keyword matches first; a query with nothing to search for (punctuation only) finds nothing. */
  keywordSearch(query: KeywordQuery, k: number, filters: RecallFilters): Promise<KeywordHit[]>;
  recalledMemes(ids: readonly number[]): Promise<Map<number, RecalledMeme>>;
}

// ---------------------------------------------------------------- verify

/** Every kind of database inconsistency verify checks, in the order they are reported and repaired. */
export const VERIFY_CHECKS = [
  'object_without_meme',
  'meme_without_object',
  'vector_row_without_meme',
  'vec_row_without_vector_row',
  'vector_row_without_vec_row',
  'vector_dims_mismatch',
  'meme_without_vector',
  'vector_without_description',
  'fts_row_without_meme',
  'meme_without_fts_row',
  'source_link_without_meme',
] as const;
export type VerifyCheck = (typeof VERIFY_CHECKS)[number];

export interface VerifyTotals {
  memes: number;
  vectors: number;
  descriptions: number;
  fts_rows: number;
  objects: number;
}

export interface AuditResult {
  checks: Record<VerifyCheck, { count: number; examples: string[] }>;
  totals: VerifyTotals;
  /** Per collection: memes with a vector elsewhere but not here (a backfill gap, not an inconsistency). */
  backfill: Array<{ collection: string; missing: number }>;
}

/** What `emomo verify` needs. Memory stays flat: listed objects go to the database's scratch space. */
export interface VerifyStore {
  /** Prepares scratch space for one run (and drops any left from an earlier one). */
  beginVerify(): Promise<void>;
  endVerify(): Promise<void>;
  addListedObjects(keys: readonly string[]): Promise<void>;
  /** Every check, the totals and the backfill gaps, from one consistent snapshot of the database. */
  audit(examples: number): Promise<AuditResult>;
  /** Fixes every database-side inconsistency in one transaction; returns how many of each were fixed. */
  repairDatabase(options: { removeMemesWithoutObject: boolean }): Promise<Partial<Record<VerifyCheck, number>>>;
  /** Listed object keys no meme references and no live claim holds, in key order, a page at a time. */
  orphanObjects(after: string, limit: number): Promise<string[]>;
}

// ---------------------------------------------------------------- purge

export interface PurgeCounts {
  /** meme_sources rows of the source. */
  source_links: number;
  /** Memes only this source offered: removed with vectors, keyword row, descriptions and object. */
  memes_removed: number;
  /** Memes another source also offered: kept, only the link goes. */
  memes_kept: number;
  /** Kept memes whose primary source was the purged one and now names a remaining source. */
  primary_source_moved: number;
  vectors: number;
  fts_rows: number;
  descriptions: number;
  objects: number;
  jobs: number;
  examples: { removed: string[]; kept: string[] };
}

/** What `emomo purge` needs. */
export interface PurgeStore {
  /** Finds the source's memes; run before the other purge calls. */
  preparePurge(source: string): Promise<void>;
  purgeCounts(source: string, examples: number): Promise<PurgeCounts>;
  /** Every row change in one transaction. */
  applyPurge(source: string): Promise<void>;
  /** Keys of the objects to delete, in key order, a page at a time (valid until `endPurge`). */
  purgeObjectKeys(after: string, limit: number): Promise<string[]>;
  endPurge(): Promise<void>;
}

// ---------------------------------------------------------------- stats

export interface StoreStats {
  sources: Array<{ source: string; memes: number; animated: number; bytes: number }>;
  collections: Array<{ collection: string; dims: number; model: string; vectors: number }>;
  memes_by_status: Array<{ status: string; count: number }>;
  jobs_by_status: Array<{ status: string; count: number }>;
  top_failure_reasons: Array<{ stage: string; reason: string; count: number }>;
  descriptions_by_model: Array<{
    vlm_model: string;
    prompt_version: string;
    count: number;
    prompt_tokens: number;
    completion_tokens: number;
  }>;
  /** What reading an image cost, per model, prompt and still / animated; averages over the descriptions that recorded it. */
  description_costs: DescriptionCost[];
  /** Sum of file sizes and number of memes (each image once). */
  storage: { bytes: number; memes: number };
}

export interface DescriptionCost {
  vlm_model: string;
  prompt_version: string;
  kind: 'still' | 'animated';
  count: number;
  /** Descriptions that recorded frames and time (older ones did not). */
  measured: number;
  /** null when none recorded it. */
  frames_per_image: number | null;
  ms_per_image: number | null;
  /** What remote models reported; null for the offline describer. */
  prompt_tokens_per_image: number | null;
}

export interface StatsStore {
  readStats(topReasons: number): Promise<StoreStats>;
}

// ---------------------------------------------------------------- health

/** What `emomo doctor` reports about a database, read without changing it. */
export interface StoreDescription {
  /** The SQLite file or the database URL without its password. */
  location: string;
  /** False when there is no database yet (the first write creates it). */
  exists: boolean;
  schemaVersion: number;
  /** The schema version this emomo writes. */
  latestVersion: number;
  memes: number;
  collections: Array<{ name: string; dims: number; model: string }>;
}

export interface StoreHealth {
  describe(): Promise<StoreDescription>;
}

// ---------------------------------------------------------------- the whole library

/** What the composition root hands out: one backend implementing every port. */
export interface LibraryStore
  extends IngestStore,
    ClaimStore,
    JobQueue,
    BackfillStore,
    RedescribeStore,
    RecallIndex,
    VerifyStore,
    PurgeStore,
    StatsStore,
    StoreHealth {
  close(): Promise<void>;
}
