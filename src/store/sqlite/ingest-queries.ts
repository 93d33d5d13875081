/**
 * The SQL behind the item pipeline on SQLite: find what is known of an image,
 * keep its paid description, and commit a finished item (meme, source link,
 * vector row, vector and keyword row) in one immediate transaction.
 */
import type { Description, SourceItem } from '../../ports.js';
import { indexTerms } from '../fts-terms.js';
import type { CommitInput, CommitResult, DescriptionKey, MemeRecord } from '../ports.js';
import type { Db } from './database.js';
import { markJobDone } from './job-queries.js';
import { writeHashes } from './picture-queries.js';
import { deleteVector, insertVector, type CollectionRow } from './vector-tables.js';

/** A `memes` row as SQLite returns it (the columns MemeRecord needs). */
export interface MemeRow {
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

export function hasVector(db: Db, md5: string, collection: string): boolean {
  return !!db.prepare('SELECT 1 FROM meme_vectors WHERE md5 = ? AND collection = ?').get(md5, collection);
}

export function findMemeByMd5(db: Db, md5: string): MemeRecord | undefined {
  const row = db.prepare('SELECT * FROM memes WHERE md5 = ?').get(md5) as MemeRow | undefined;
  return row && toMeme(row);
}

export function findDescription(db: Db, key: DescriptionKey): Description | undefined {
  const row = db
    .prepare(
      `SELECT description, ocr_text, emotions FROM meme_descriptions
       WHERE md5 = ? AND vlm_model = ? AND prompt_version = ?`,
    )
    .get(key.md5, key.vlmModel, key.promptVersion) as { description: string; ocr_text: string; emotions: string } | undefined;
  if (!row) return undefined;
  return { description: row.description, ocrText: row.ocr_text, emotions: JSON.parse(row.emotions) as string[] };
}

export function findLatestDescription(db: Db, md5: string): { key: DescriptionKey; description: Description } | undefined {
  const row = db
    .prepare(
      `SELECT vlm_model, prompt_version FROM meme_descriptions WHERE md5 = ?
       ORDER BY created_at DESC, rowid DESC LIMIT 1`,
    )
    .get(md5) as { vlm_model: string; prompt_version: string } | undefined;
  if (!row) return undefined;
  const key = { md5, vlmModel: row.vlm_model, promptVersion: row.prompt_version };
  return { key, description: findDescription(db, key)! };
}

export function saveDescription(db: Db, key: DescriptionKey, d: Description): void {
  db.prepare(
    `INSERT INTO meme_descriptions
       (md5, vlm_model, prompt_version, description, ocr_text, emotions, prompt_tokens, completion_tokens, frames, describe_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (md5, vlm_model, prompt_version) DO NOTHING`,
  ).run(
    key.md5,
    key.vlmModel,
    key.promptVersion,
    d.description,
    d.ocrText,
    JSON.stringify(d.emotions),
    d.usage?.promptTokens ?? null,
    d.usage?.completionTokens ?? null,
    d.cost?.frames ?? null,
    d.cost?.ms ?? null,
  );
}

/** Links a source item to a meme; false (nothing written) when the meme is gone, e.g. purged since it was looked up. */
export function linkSource(db: Db, item: SourceItem, memeId: number): boolean {
  const run = db.prepare(
    `INSERT INTO meme_sources (source_type, source_id, meme_id, source_url)
     SELECT ?, ?, id, ? FROM memes WHERE id = ?
     ON CONFLICT (source_type, source_id) DO UPDATE SET meme_id = excluded.meme_id, source_url = excluded.source_url`,
  ).run(item.sourceType, item.sourceId, item.sourceUrl ?? null, memeId);
  return run.changes > 0;
}

export function isStorageKeyReferenced(db: Db, key: string): boolean {
  return !!db.prepare('SELECT 1 FROM memes WHERE storage_key = ?').get(key);
}

/** The image is committed: its claims are moot, and none is left behind by a worker killed before releasing its own. */
const CLEAR_CLAIMS = (db: Db, md5: string, collection: string) =>
  db.prepare('DELETE FROM item_claims WHERE md5 = ? AND collection = ?').run(md5, collection);

export function commitItem(db: Db, coll: CollectionRow, input: CommitInput): CommitResult {
  if (input.vector.length !== coll.dims) {
    throw new Error(`vector has ${input.vector.length} dimensions, collection "${coll.name}" needs ${coll.dims}`);
  }
  return db
    .transaction((): CommitResult => {
      const { item, facts } = input;
      let meme = findMemeByMd5(db, facts.md5);
      const memeCreated = !meme;
      if (!meme) {
        db.prepare(
          `INSERT INTO memes (md5, source_type, source_id, storage_key, width, height, format, is_animated,
                              frames, file_size, category, tags, source_url)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
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
        meme = findMemeByMd5(db, facts.md5)!;
        // The image is in the library in its own right now, no longer a duplicate of another meme.
        db.prepare('DELETE FROM meme_aliases WHERE md5 = ?').run(facts.md5);
      }
      if (input.hashes && (memeCreated || !db.prepare('SELECT picture_hash FROM memes WHERE id = ?').pluck().get(meme.id))) {
        writeHashes(db, meme.id, input.hashes);
      }
      linkSource(db, item, meme.id);

      if (input.replace) {
        db.prepare('DELETE FROM meme_vectors WHERE md5 = ? AND collection = ?').run(facts.md5, coll.name);
        deleteVector(db, coll, meme.id);
      } else if (db.prepare('SELECT 1 FROM meme_vectors WHERE md5 = ? AND collection = ?').get(facts.md5, coll.name)) {
        markJobDone(db, item.sourceType, item.sourceId, coll.name);
        CLEAR_CLAIMS(db, facts.md5, coll.name);
        return { memeId: meme.id, memeCreated, alreadyEmbedded: true };
      }
      db.prepare(
        `INSERT INTO meme_vectors (meme_id, md5, collection, model, dims, vlm_model, prompt_version)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        meme.id,
        facts.md5,
        coll.name,
        input.embeddingModel,
        coll.dims,
        input.descriptionKey.vlmModel,
        input.descriptionKey.promptVersion,
      );
      insertVector(db, coll, meme.id, input.vector, {
        category: meme.category,
        isAnimated: meme.isAnimated,
        source: meme.sourceType,
      });

      const d = input.description;
      db.prepare('DELETE FROM memes_fts WHERE rowid = ?').run(meme.id);
      db.prepare('INSERT INTO memes_fts (rowid, ocr_text, description, tags) VALUES (?, ?, ?, ?)').run(
        meme.id,
        indexTerms(d.ocrText),
        indexTerms(d.description),
        indexTerms(meme.tags.join(' ')),
      );

      markJobDone(db, item.sourceType, item.sourceId, coll.name);
      CLEAR_CLAIMS(db, facts.md5, coll.name);
      return { memeId: meme.id, memeCreated, alreadyEmbedded: false };
    })
    .immediate();
}

export function toMeme(row: MemeRow): MemeRecord {
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
