/** The Store port on SQLite + sqlite-vec (better-sqlite3 is synchronous and fast). */
import type { Description, SourceItem } from '../ports.js';
import { commitVectors, countUnembedded, findUnembedded } from './backfill-queries.js';
import { claimItem, claimItems, registerClaimFunctions, releaseItems } from './claims.js';
import { openDatabase, type Db, type OpenOptions } from './database.js';
import { claimDueJobs, countJobs, findJob, jobKey, markJobDone, recordFailure, releaseJobClaims } from './job-queries.js';
import { indexTerms } from './fts-terms.js';
import type {
  BackfillCandidate,
  BackfillStore,
  BackfillVector,
  ClaimedJob,
  CommitInput,
  CommitResult,
  DescriptionKey,
  FailureInput,
  JobCounts,
  JobFilter,
  JobQueue,
  JobSchedule,
  MemeRecord,
  Store,
} from './store.js';
import { deleteVector, ensureVectorTable, insertVector, type CollectionRow } from './vector-tables.js';

interface MemeRow {
  id: number;
  md5: string;
  storage_key: string;
  source_type: string;
  source_id: string;
  width: number;
  height: number;
  format: string;
  is_animated: number;
  category: string;
  tags: string;
}

export class SqliteStore implements Store, JobQueue, BackfillStore {
  readonly db: Db;
  private readonly collections = new Map<string, CollectionRow>();

  constructor(file: string, options: OpenOptions = {}) {
    this.db = openDatabase(file, options);
    registerClaimFunctions(this.db);
  }

  ensureCollection(name: string, dims: number, model: string): void {
    this.collections.set(name, ensureVectorTable(this.db, name, dims, model));
  }

  private collection(name: string): CollectionRow {
    const row = this.collections.get(name);
    if (!row) throw new Error(`collection "${name}" was not opened with ensureCollection()`);
    return row;
  }

  hasVector(md5: string, collection: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM meme_vectors WHERE md5 = ? AND collection = ?').get(md5, collection);
  }

  findMemeByMd5(md5: string): MemeRecord | undefined {
    const row = this.db.prepare('SELECT * FROM memes WHERE md5 = ?').get(md5) as MemeRow | undefined;
    return row && toMeme(row);
  }

  findDescription(key: DescriptionKey): Description | undefined {
    const row = this.db
      .prepare(
        `SELECT description, ocr_text, emotions FROM meme_descriptions
         WHERE md5 = ? AND vlm_model = ? AND prompt_version = ?`,
      )
      .get(key.md5, key.vlmModel, key.promptVersion) as
      | { description: string; ocr_text: string; emotions: string }
      | undefined;
    if (!row) return undefined;
    return { description: row.description, ocrText: row.ocr_text, emotions: JSON.parse(row.emotions) as string[] };
  }

  findLatestDescription(md5: string): { key: DescriptionKey; description: Description } | undefined {
    const row = this.db
      .prepare(
        `SELECT vlm_model, prompt_version FROM meme_descriptions WHERE md5 = ?
         ORDER BY created_at DESC, rowid DESC LIMIT 1`,
      )
      .get(md5) as { vlm_model: string; prompt_version: string } | undefined;
    if (!row) return undefined;
    const key = { md5, vlmModel: row.vlm_model, promptVersion: row.prompt_version };
    return { key, description: this.findDescription(key)! };
  }

  saveDescription(key: DescriptionKey, d: Description): void {
    this.db
      .prepare(
        `INSERT INTO meme_descriptions
           (md5, vlm_model, prompt_version, description, ocr_text, emotions, prompt_tokens, completion_tokens)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (md5, vlm_model, prompt_version) DO NOTHING`,
      )
      .run(
        key.md5,
        key.vlmModel,
        key.promptVersion,
        d.description,
        d.ocrText,
        JSON.stringify(d.emotions),
        d.usage?.promptTokens ?? null,
        d.usage?.completionTokens ?? null,
      );
  }

  linkSource(item: SourceItem, memeId: number): void {
    this.db
      .prepare(
        `INSERT INTO meme_sources (source_type, source_id, meme_id, source_url) VALUES (?, ?, ?, ?)
         ON CONFLICT (source_type, source_id) DO UPDATE SET meme_id = excluded.meme_id, source_url = excluded.source_url`,
      )
      .run(item.sourceType, item.sourceId, memeId, item.sourceUrl ?? null);
  }

  commitItem(input: CommitInput): CommitResult {
    const coll = this.collection(input.collection);
    if (input.vector.length !== coll.dims) {
      throw new Error(`vector has ${input.vector.length} dimensions, collection "${coll.name}" needs ${coll.dims}`);
    }
    return this.db
      .transaction((): CommitResult => {
        const { item, facts } = input;
        let meme = this.findMemeByMd5(facts.md5);
        const memeCreated = !meme;
        if (!meme) {
          this.db
            .prepare(
              `INSERT INTO memes (md5, source_type, source_id, storage_key, width, height, format, is_animated,
                                  frames, file_size, category, tags, source_url)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            )
            .run(
              facts.md5,
              item.sourceType,
              item.sourceId,
              input.storageKey,
              facts.width,
              facts.height,
              facts.format,
              facts.isAnimated ? 1 : 0,
              facts.frames,
              facts.fileSize,
              item.category,
              JSON.stringify(item.tags),
              item.sourceUrl ?? null,
            );
          meme = this.findMemeByMd5(facts.md5)!;
        }
        this.linkSource(item, meme.id);

        if (input.replace) {
          this.db.prepare('DELETE FROM meme_vectors WHERE md5 = ? AND collection = ?').run(facts.md5, coll.name);
          deleteVector(this.db, coll, meme.id);
        }
        this.db
          .prepare(
            `INSERT INTO meme_vectors (meme_id, md5, collection, model, dims, vlm_model, prompt_version)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            meme.id,
            facts.md5,
            coll.name,
            input.embeddingModel,
            coll.dims,
            input.descriptionKey.vlmModel,
            input.descriptionKey.promptVersion,
          );
        insertVector(this.db, coll, meme.id, input.vector, {
          category: meme.category,
          isAnimated: meme.isAnimated,
          source: meme.sourceType,
        });

        const d = input.description;
        this.db.prepare('DELETE FROM memes_fts WHERE rowid = ?').run(meme.id);
        this.db
          .prepare('INSERT INTO memes_fts (rowid, ocr_text, description, tags) VALUES (?, ?, ?, ?)')
          .run(meme.id, indexTerms(d.ocrText), indexTerms(d.description), indexTerms(meme.tags.join(' ')));

        this.markJobDone(item.sourceType, item.sourceId, coll.name);
        return { memeId: meme.id, memeCreated };
      })
      .immediate();
  }

  isStorageKeyReferenced(key: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM memes WHERE storage_key = ?').get(key);
  }

  recordFailure(f: FailureInput, schedule: (attempt: number) => JobSchedule): JobSchedule & { attempt: number } {
    return recordFailure(this.db, f, schedule);
  }

  markJobDone(sourceType: string, sourceId: string, collection: string): void {
    markJobDone(this.db, sourceType, sourceId, collection);
  }

  claimItem(md5: string, collection: string, owner: string, now: Date, ttlMs: number): boolean {
    return claimItem(this.db, md5, collection, owner, now, ttlMs);
  }

  claimItems(md5s: readonly string[], collection: string, owner: string, now: Date, ttlMs: number): Set<string> {
    return claimItems(this.db, md5s, collection, owner, now, ttlMs);
  }

  releaseItems(md5s: readonly string[], collection: string, owner: string): void {
    releaseItems(this.db, md5s, collection, owner);
  }

  claimDueJobs(filter: JobFilter, owner: string, ttlMs: number): ClaimedJob[] {
    return claimDueJobs(this.db, filter, owner, ttlMs);
  }

  releaseJobClaims(owner: string): number {
    return releaseJobClaims(this.db, owner);
  }

  countJobs(collection: string, now: Date): JobCounts {
    return countJobs(this.db, collection, now);
  }

  findJob(sourceType: string, sourceId: string, collection: string): ClaimedJob | undefined {
    return findJob(this.db, jobKey(sourceType, sourceId, collection));
  }

  findUnembedded(collection: string, afterId: number, limit: number): BackfillCandidate[] {
    return findUnembedded(this.db, collection, afterId, limit);
  }

  countUnembedded(collection: string): { described: number; undescribed: number } {
    return countUnembedded(this.db, collection);
  }

  commitVectors(collection: string, model: string, batch: readonly BackfillVector[]): string[] {
    return commitVectors(this.db, this.collection(collection), model, batch);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toMeme(row: MemeRow): MemeRecord {
  return {
    id: row.id,
    md5: row.md5,
    storageKey: row.storage_key,
    sourceType: row.source_type,
    sourceId: row.source_id,
    width: row.width,
    height: row.height,
    format: row.format,
    isAnimated: row.is_animated === 1,
    category: row.category,
    tags: JSON.parse(row.tags) as string[],
  };
}
