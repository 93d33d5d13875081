/**
 * The Store port: everything the pipeline needs from the database. SQLite is
 * the embedded implementation; a PostgreSQL + pgvector one can implement the
 * same interface without touching the pipeline.
 */
import type { Description, ImageFacts, SourceItem } from '../ports.js';
import type { Stage } from '../errors.js';

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

export interface JobFilter {
  collection: string;
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

/** Cross-process claims on images and jobs (see claims.ts): overlapping runs never do the same work. */
export interface ClaimStore {
  /** True when `owner` now holds (md5, collection); false while another live owner holds it. */
  claimItem(md5: string, collection: string, owner: string, now: Date, ttlMs: number): boolean;
  claimItems(md5s: readonly string[], collection: string, owner: string, now: Date, ttlMs: number): Set<string>;
  releaseItems(md5s: readonly string[], collection: string, owner: string): void;
}

/** The jobs table as a retry queue. */
export interface JobQueue {
  /** Atomically marks the due jobs `processing` for `owner` and returns them. */
  claimDueJobs(filter: JobFilter, owner: string, ttlMs: number): ClaimedJob[];
  /** Unfinished claims of `owner` go back to `pending`. */
  releaseJobClaims(owner: string): number;
  countJobs(collection: string, now: Date): JobCounts;
  findJob(sourceType: string, sourceId: string, collection: string): ClaimedJob | undefined;
}

/** What `emomo embed` needs: described memes missing a vector, and batch commits. */
export interface BackfillStore {
  findUnembedded(collection: string, afterId: number, limit: number): BackfillCandidate[];
  countUnembedded(collection: string): { described: number; undescribed: number };
  /** One transaction per batch; returns the md5s written (others got a vector meanwhile). */
  commitVectors(collection: string, model: string, batch: readonly BackfillVector[]): string[];
}

export interface JobSchedule {
  status: 'failed' | 'dead';
  nextRetryAt: Date | null;
}

export interface Store extends ClaimStore {
  /** Creates the collection (and its vector table) or checks its dimension. */
  ensureCollection(name: string, dims: number, model: string): void;
  hasVector(md5: string, collection: string): boolean;
  findMemeByMd5(md5: string): MemeRecord | undefined;
  findDescription(key: DescriptionKey): Description | undefined;
  /** The newest description of an image under any model, for reuse by another collection. */
  findLatestDescription(md5: string): { key: DescriptionKey; description: Description } | undefined;
  saveDescription(key: DescriptionKey, description: Description): void;
  /** Records that a source item is this known image (a skip still links its source). */
  linkSource(item: SourceItem, memeId: number): void;
  /** Meme, source link, vector row, vec0 row and FTS row in one transaction. */
  commitItem(input: CommitInput): CommitResult;
  isStorageKeyReferenced(key: string): boolean;
  /** Upserts the job for the item; `schedule` turns the attempt number into its next state. */
  recordFailure(failure: FailureInput, schedule: (attempt: number) => JobSchedule): JobSchedule & { attempt: number };
  markJobDone(sourceType: string, sourceId: string, collection: string): void;
  close(): void;
}
