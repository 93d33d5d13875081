/**
 * Every database port, in one place. Each backend (SQLite + sqlite-vec in
 * src/store/sqlite/, PostgreSQL + pgvector next to it) implements all of them
 * as one `LibraryStore`; services take the narrow interface they need. Every
 * method returns a Promise, takes plain values (search terms, not engine
 * syntax) and keeps index tuning inside the adapter. One contract suite
 * (test/integration/store-contract.test.ts) runs against every backend.
 */
import type { Stage } from '../errors.js';
import type { PictureHashes } from '../images/phash.js';
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
  /** Replace a vector already stored for (md5, collection) instead of keeping it (see CommitResult.alreadyEmbedded). */
  replace: boolean;
  /** The image's perceptual hashes; stored with a new meme, or added to one that has none yet. */
  hashes?: PictureHashes;
}

export interface CommitResult {
  memeId: number;
  memeCreated: boolean;
  /**
   * The image already had a vector in the collection and `replace` was not
   * asked: another process committed it first (it took the item over when
   * this one's claim ran out, e.g. a worker stalled past its lease). Only the
   * source link and the job are recorded; the stored vector stays.
   */
  alreadyEmbedded: boolean;
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
  /**
   * Records that a source item is this known image (a skip still links its
   * source). False, and nothing written, when the meme is gone (a purge
   * removed it since it was looked up): the item is new again.
   */
  linkSource(item: SourceItem, memeId: number): Promise<boolean>;
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
 * expired another owner may take the image over. An image whose object a
 * purge or repair is deleting right now (a live lease in the object-delete
 * queue, see ObjectDeleteQueue) is not free either: the claim waits until the
 * object is gone, so ingest never reuses an object about to disappear.
 */
export interface ClaimStore {
  /** Claims as many of (md5, collection) as are free, expired or already this owner's; returns the md5s now held. */
  claimItems(md5s: readonly string[], collection: string, owner: string, leaseMs: number): Promise<Set<string>>;
  /** The heartbeat: every item claim, job claim and object-delete lease `owner` still holds now lasts `leaseMs` from now. Returns how many. */
  renewClaims(owner: string, leaseMs: number): Promise<number>;
  /** Ends this owner's claims on the given images (another owner's claim is never touched). */
  releaseItems(md5s: readonly string[], collection: string, owner: string): Promise<void>;
}

// ---------------------------------------------------------------- jobs

/** The parts of a SourceItem a job stores so `retry-pending` can rebuild it. */
export interface JobPayload {
  path: string;
  /** The source folder the file must stay inside (absent in jobs recorded before it was stored). */
  root?: string;
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

/** Failed work as a retry queue (see src/resilience/backoff.ts for the lifecycle). */
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
  /** Where its image is stored (an image collection embeds the picture). */
  storageKey: string;
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

/**
 * How the adapter searched: every vector scored (`exact`), or through its
 * approximate index: SQLite's binary-quantised pass (`quantized`), or
 * PostgreSQL's HNSW graph (`hnsw`); both rescore their candidates exactly.
 */
export type VectorMethod = 'exact' | 'quantized' | 'hnsw';

export interface VectorSearchResult {
  hits: VectorHit[];
  method: VectorMethod;
  /** Rows the adapter scored to answer (for --explain and benchmarks). */
  candidates: number;
}

/**
 * What to look for, as plain text: each adapter segments it with
 * src/store/fts-terms.ts and builds its own syntax.
 *   text     the query's own words (`queryTerms`); a caption that is exactly this text ranks first;
 *   terms    single index terms, any of them (a query's backoff characters);
 *   phrases  any of these phrases (expansions), each its `phraseTerms` in a row.
 */
export type KeywordQuery = { text: string } | { terms: readonly string[] } | { phrases: readonly string[] };

/** What the keyword index knows about terms (as fts-terms.ts indexes them), for IDF weighting. */
export interface TermStatistics {
  /** Memes in the keyword index. */
  documents: number;
  /** Memes holding each term; a term no meme holds is absent. */
  frequencies: Map<string, number>;
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
  /** The categories and sources present (for a hint when a filter matches nothing). */
  filterValues(): Promise<{ categories: string[]; sources: string[] }>;
  /** Document frequencies of the given index terms and the document count, live from the keyword index. */
  documentFrequencies(terms: readonly string[]): Promise<TermStatistics>;
}

// ---------------------------------------------------------------- browse

/** A source that offered an image (the first one and every later one). */
export interface MemeSource {
  sourceType: string;
  sourceId: string;
  sourceUrl: string | null;
}

/** One meme as a person looks at it: its row, its newest description and every source that offered it. */
export interface MemeDetails extends MemeRecord {
  frames: number;
  fileSize: number;
  /** ISO 8601 time the meme was committed. */
  createdAt: string;
  description: string;
  ocrText: string;
  emotions: string[];
  /** Which model and prompt wrote the description; null when the meme has none. */
  describedBy: { vlmModel: string; promptVersion: string } | null;
  sources: MemeSource[];
}

/** What `emomo serve` reads beside recall: one meme, and whether the library changed since it last looked. */
export interface BrowseStore {
  /** The meme with this md5; undefined when the library has none. */
  memeDetails(md5: string): Promise<MemeDetails | undefined>;
  /**
   * A mark that differs whenever another connection (an ingest, a purge, a
   * repair) has committed since the last call; what serve's result cache is
   * keyed on. Undefined when the backend cannot tell cheaply: callers then
   * keep what they cached only for a short time.
   */
  changeMark(): Promise<string | undefined>;
}

// ---------------------------------------------------------------- verify

/** Every kind of database inconsistency verify checks, in the order they are reported and repaired. */
export const VERIFY_CHECKS = [
  'object_without_meme',
  'meme_without_object',
  'pending_object_delete',
  'vector_row_without_meme',
  'vec_row_without_vector_row',
  'vector_row_without_vec_row',
  'vector_dims_mismatch',
  'vector_index_out_of_step',
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

/** A meme and its object, with every source that offered the image (where a lost object may be found again). */
export interface MemeObject {
  id: number;
  md5: string;
  storageKey: string;
  format: string;
  sources: Array<{ sourceType: string; sourceId: string }>;
}

/** What a database repair did: derived rows only, never a meme or a description. */
export interface DatabaseRepair {
  fixed: Partial<Record<VerifyCheck, number>>;
  /** Memes left without a vector in a collection by this repair (or with none anywhere), that `emomo embed` fills. */
  requeued: Array<{ collection: string; memes: number }>;
  /** Memes with no vector and no description at all: only a re-ingest of their source describes them. */
  undescribed: { count: number; examples: string[] };
}

/**
 * What `emomo verify` needs. Memory stays flat: listed objects go to the
 * database's scratch space (SQLite TEMP tables; PostgreSQL temporary tables
 * or rows keyed by the run). Every method is plain SQL on either backend.
 */
export interface VerifyStore {
  /**
   * Prepares scratch space for one run (dropping any left from an earlier
   * one) and snapshots the memes (id, object key, creation time). The object
   * listing that follows is compared with this snapshot, so a meme committed
   * while storage is being listed is never called lost.
   */
  beginVerify(): Promise<void>;
  endVerify(): Promise<void>;
  addListedObjects(keys: readonly string[]): Promise<void>;
  /**
   * Every check, the totals and the backfill gaps, from one consistent view
   * of the database. `meme_without_object` counts memes of the snapshot still
   * present unchanged whose object was not listed; `object_without_meme`
   * counts listed objects no meme refers to now and no live claim holds.
   */
  audit(examples: number): Promise<AuditResult>;
  /**
   * The engine's own consistency check of its files, up to `limit` problems
   * ([] when sound). SQLite: `PRAGMA quick_check`, or `integrity_check` when
   * `thorough`. PostgreSQL: amcheck's index checks when the extension is
   * installed, else [] (its storage has its own checksums).
   */
  checkIntegrity(thorough: boolean, limit: number): Promise<string[]>;
  /** Memes counted by `meme_without_object`, by id after `afterId`, a page at a time. */
  memesWithoutObject(afterId: number, limit: number): Promise<MemeObject[]>;
  /** Memes whose object was listed, by id after `afterId`, a page at a time (the deep content check). */
  memesWithObject(afterId: number, limit: number): Promise<MemeObject[]>;
  /**
   * Fixes every inconsistency of derived rows in one transaction (vector
   * rows, vectors, keyword rows, source links): rebuilt from the description
   * where possible, else removed so `emomo embed` re-embeds the meme. Never
   * removes a meme, an object reference or a description.
   */
  repairDatabase(examples: number): Promise<DatabaseRepair>;
  /**
   * Removes a meme whose object is lost (its vectors, keyword row and source
   * links; its description stays), but only if, inside the removing
   * transaction, it still has that id, md5 and object key and no live claim
   * holds its image. Returns whether it was removed.
   */
  removeMemeWithoutObject(meme: Pick<MemeObject, 'id' | 'md5' | 'storageKey'>): Promise<boolean>;
  /** Records every listed object no meme refers to and no live claim holds as a pending delete (reason `orphan`); returns how many are recorded now. */
  queueOrphanDeletes(): Promise<number>;
}

// ---------------------------------------------------------------- object deletes

/** One page of recorded object deletes, checked again and leased to the caller. */
export interface ObjectDeleteBatch {
  /** Keys now leased to the caller: delete each object, then call `finishObjectDeletes`. */
  keys: string[];
  /** Recorded deletes dropped because a meme refers to the object again: it stays. */
  inUse: number;
  /** Left for a later run: a live ingest claims the image, or another run is deleting it. */
  waiting: number;
  /** The last key examined: the `after` of the next page; undefined when there are no more. */
  last?: string;
}

/**
 * Object deletes recorded in the database before they happen, so a run killed
 * between its commit and its deletes leaves work the next purge or
 * `verify --repair` finishes. Taking a delete re-checks it in one transaction:
 * an object a meme refers to again is never deleted, an image claimed by a
 * live ingest is left for later, and the lease taken blocks new claims on the
 * image (ClaimStore) until the delete is finished or the lease expires.
 * SQLite and PostgreSQL: a `pending_deletes` table; PostgreSQL takes its rows
 * `FOR UPDATE SKIP LOCKED`.
 */
export interface ObjectDeleteQueue {
  /** Re-checks and leases (for `leaseMs` on the database clock) up to `limit` recorded deletes with keys after `after`, in key order. */
  takeObjectDeletes(owner: string, after: string, limit: number, leaseMs: number): Promise<ObjectDeleteBatch>;
  /** Forgets the deletes done (`deleted`); the owner's other leases end, so their deletes are tried again later. */
  finishObjectDeletes(owner: string, deleted: readonly string[]): Promise<void>;
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
  /** Objects only the removed memes used: recorded as pending deletes. */
  objects: number;
  jobs: number;
  examples: { removed: string[]; kept: string[] };
}

/** What `emomo purge` needs. */
export interface PurgeStore {
  /** What a purge of the source would remove now (the dry run); changes nothing. */
  purgeCounts(source: string, examples: number): Promise<PurgeCounts>;
  /**
   * Decides what to remove and removes it in one transaction: every row
   * change, and the objects to delete recorded in the object-delete queue
   * (ObjectDeleteQueue). Returns the counts of what it removed.
   */
  applyPurge(source: string, examples: number): Promise<PurgeCounts>;
}

// ---------------------------------------------------------------- pictures

/** A meme whose perceptual hashes are not stored yet (memes from before they existed). */
export interface MemeToHash {
  id: number;
  md5: string;
  storageKey: string;
}

export interface HashedMeme extends PictureHashes {
  id: number;
}

/** What duplicate detection and merging know of a meme. */
export interface PictureFacts extends PictureHashes {
  id: number;
  md5: string;
  storageKey: string;
  width: number;
  height: number;
  format: string;
  isAnimated: boolean;
  fileSize: number;
  /** ISO time the meme was committed. */
  createdAt: string;
  /** The OCR text of its newest description ('' when it has none). */
  caption: string;
  tags: string[];
  /** Sources that offered the image (meme_sources rows). */
  sources: number;
}

/** One duplicate group to merge: the copies go into the keeper. */
export interface MergeGroup {
  keeper: { id: number; md5: string };
  copies: ReadonlyArray<{ id: number; md5: string }>;
}

export interface MergeOutcome {
  /** Copies removed (their sources, tags and md5 now belong to the keeper). */
  merged: Array<{ id: number; md5: string }>;
  /** Copies left as they are, with why: changed or removed since they were grouped, or claimed by a running ingest. */
  skipped: Array<{ id: number; md5: string; reason: string }>;
  /** False when the keeper itself is gone or changed: nothing was merged. */
  keeperFound: boolean;
  sourcesMoved: number;
  /** Tags the keeper gained. */
  tagsAdded: string[];
  vectors: number;
  /** Objects only the removed copies used, recorded as pending deletes (ObjectDeleteQueue). */
  objects: number;
}

/**
 * Perceptual hashes, duplicates and template variants. Memes carry two
 * 16-hex-digit hashes (src/images/phash.ts); the picture hash's 8 bytes are
 * indexed as bands, one row per (band, byte value, meme) in both backends
 * (SQLite and PostgreSQL: a `picture_bands` table, primary key
 * (band, value, meme_id), rows removed with their meme by ON DELETE CASCADE).
 * A merged or skipped duplicate's md5 is remembered as an alias of the meme
 * that holds its picture (`meme_aliases`), so ingest does not add it again.
 * Every method is plain SQL on either backend.
 */
export interface PictureStore {
  /** Memes without stored hashes, by id after `afterId`, a page at a time. */
  memesWithoutHashes(afterId: number, limit: number): Promise<MemeToHash[]>;
  /** Stores hashes (and their bands) of memes that still have that id and md5 and no hashes; returns how many were stored. */
  saveHashes(rows: ReadonlyArray<{ id: number; md5: string } & PictureHashes>): Promise<number>;
  /** The hashes of memes that have them, by id after `afterId`, a page at a time. */
  hashedMemes(afterId: number, limit: number): Promise<HashedMeme[]>;
  /** Memes sharing at least one band with `picture` (the banded candidate lookup; the caller measures the distance). */
  pictureCandidates(picture: string): Promise<PictureFacts[]>;
  /** The facts of the given memes that exist and have hashes. */
  pictureFacts(ids: readonly number[]): Promise<PictureFacts[]>;
  /**
   * Merges one duplicate group in one transaction: each copy that still has
   * its id and md5, is not the keeper's image, and is not claimed by a live
   * owner (ClaimStore) has its source links moved to the keeper, its tags
   * folded into the keeper's (row and keyword index), its md5 recorded as an
   * alias of the keeper, its vectors, keyword row and meme row removed (its
   * descriptions stay: a paid cache), and its object recorded as a pending
   * delete unless another meme uses it. Nothing happens when the keeper is
   * gone or changed.
   */
  mergeDuplicates(group: MergeGroup, reason: string): Promise<MergeOutcome>;
  /** Records each member as a template variant of its group's template (replacing earlier links of those members); returns links written. */
  linkVariants(groups: ReadonlyArray<{ templateId: number; memberIds: readonly number[] }>): Promise<number>;
  /** The meme an image was merged into (or skipped as a duplicate of), when it was. */
  aliasOf(md5: string): Promise<number | undefined>;
  /** Remembers that an image is a duplicate of a meme (ingest --skip-duplicates); false when that meme is gone. */
  addAlias(md5: string, memeId: number, reason: string): Promise<boolean>;
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

// ---------------------------------------------------------------- run locks

/** Who holds a run lock. */
export interface RunLockHolder {
  pid: number;
  host: string;
  command: string;
  scope: string;
  started: string;
}

export interface HeldRunLock {
  release(): Promise<void>;
}

/**
 * Cron-overlap run locks held by the database server, for every machine
 * using the library at once, and freed by the server when the holder's
 * session ends however it died. PostgreSQL has them (advisory locks);
 * SQLite has not: its run locks are lock files next to the database file
 * (src/cli/lock.ts), so `LibraryStore.acquireRunLock` is optional.
 */
export interface ServerRunLocks {
  acquireRunLock(command: string, scope: string): Promise<HeldRunLock | { heldBy: RunLockHolder }>;
}

// ---------------------------------------------------------------- moving a library

/** How many rows of each kind a library holds (`emomo migrate` compares source and target). */
export interface LibraryCounts {
  collections: number;
  memes: number;
  source_links: number;
  descriptions: number;
  vectors: number;
  keyword_rows: number;
  jobs: number;
  /** Memes with perceptual hashes. */
  picture_hashes: number;
  /** Images merged into, or skipped as duplicates of, a meme. */
  aliases: number;
  /** Template variants linked to their template. */
  variants: number;
}

/** One meme as stored, with its source links, vectors and keyword row. */
export interface LibraryMeme {
  id: number;
  md5: string;
  sourceType: string;
  sourceId: string;
  storageKey: string;
  width: number;
  height: number;
  format: string;
  isAnimated: boolean;
  frames: number;
  fileSize: number;
  category: string;
  tags: string[];
  sourceUrl: string | null;
  status: string;
  createdAt: string;
  updatedAt: string;
  sources: Array<{ sourceType: string; sourceId: string; sourceUrl: string | null; createdAt: string }>;
  vectors: Array<{ collection: string; model: string; dims: number; vlmModel: string; promptVersion: string; createdAt: string; vector: Float32Array }>;
  /** The keyword-index row as indexed terms (src/store/fts-terms.ts); null when the meme has none. */
  keywords: { ocrText: string; description: string; tags: string } | null;
  /** Its perceptual hashes; null when it has none yet. */
  hashes: PictureHashes | null;
  /** Images merged into it or skipped as its duplicates (meme_aliases). */
  aliases: Array<{ md5: string; reason: string; createdAt: string }>;
}

/** A template variant link, by md5 on both ends (a library's ids are its own). */
export interface LibraryVariant {
  /** The variant's id in the exporting library, for paging. */
  memeId: number;
  md5: string;
  templateMd5: string;
  createdAt: string;
}

export interface LibraryDescription {
  /** Position in the export, for paging. */
  seq: number;
  key: DescriptionKey;
  description: Description;
  createdAt: string;
}

export interface LibraryJob {
  id: number;
  sourceType: string;
  sourceId: string;
  collection: string;
  path: string | null;
  stage: string;
  reason: string;
  attempts: number;
  status: JobStatus;
  nextRetryAt: string | null;
  payload: JobPayload | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * Reading a whole library a page at a time, in a stable order: the source of
 * `emomo migrate`. Libraries move from SQLite to PostgreSQL, so the SQLite
 * adapter exports and the PostgreSQL adapter imports; neither port is part
 * of LibraryStore.
 */
export interface LibraryExport {
  /** Reads from here to `endExport` see one snapshot of the library. */
  beginExport(): Promise<void>;
  endExport(): Promise<void>;
  exportCollections(): Promise<Array<Omit<CollectionInfo, 'size'>>>;
  /** Memes with an id above `afterId`, in id order. */
  exportMemes(afterId: number, limit: number): Promise<LibraryMeme[]>;
  /** Descriptions with a `seq` above `afterSeq`, in `seq` order (oldest first). */
  exportDescriptions(afterSeq: number, limit: number): Promise<LibraryDescription[]>;
  /** Jobs with an id above `afterId`, in id order. */
  exportJobs(afterId: number, limit: number): Promise<LibraryJob[]>;
  /** Variant links of memes with an id above `afterId`, in id order. */
  exportVariants(afterId: number, limit: number): Promise<LibraryVariant[]>;
}

/** Per kind, the rows an import wrote (rows already present are left alone and not counted). */
export type ImportCounts = Pick<LibraryCounts, 'memes' | 'source_links' | 'vectors' | 'keyword_rows' | 'picture_hashes' | 'aliases'>;

/**
 * Writing another library's rows into this one, idempotently: every row is
 * matched on its natural key (md5, source id, description key, md5 and
 * collection, job key) and one already present is left as it is, so an
 * interrupted import simply runs again. Timestamps are kept; ids are this
 * library's own.
 */
export interface LibraryImport {
  /** Every meme (matched on md5) with its links, vectors, keyword row, hashes and aliases, in one transaction. */
  importMemes(memes: readonly LibraryMeme[]): Promise<ImportCounts>;
  /** Links whose two memes are here (imported before: variants move after every meme). */
  importVariants(rows: readonly LibraryVariant[]): Promise<number>;
  importDescriptions(rows: readonly LibraryDescription[]): Promise<number>;
  /** A job that was in progress at the source arrives pending, due at once. */
  importJobs(rows: readonly LibraryJob[]): Promise<number>;
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
    BrowseStore,
    VerifyStore,
    ObjectDeleteQueue,
    PurgeStore,
    PictureStore,
    StatsStore,
    StoreHealth,
    Partial<ServerRunLocks> {
  /** Row counts per kind (what `emomo migrate` compares). */
  countLibrary(): Promise<LibraryCounts>;
  close(): Promise<void>;
}
