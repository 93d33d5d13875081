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
}

export interface JobSchedule {
  status: 'failed' | 'dead';
  nextRetryAt: Date | null;
}

export interface Store {
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
