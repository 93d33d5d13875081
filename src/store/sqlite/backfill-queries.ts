/**
 * SQL behind `emomo embed` (and the part of `retry-pending` that finishes
 * memes left without a vector): find described memes that have no vector in a
 * collection, and commit a batch of new vectors in one short transaction.
 */
import type { Db } from './database.js';
import { indexTerms } from '../fts-terms.js';
import type { BackfillCandidate, BackfillVector } from '../ports.js';
import { deleteVector, insertVector, type CollectionRow } from './vector-tables.js';

const MISSING = `NOT EXISTS (SELECT 1 FROM meme_vectors v WHERE v.md5 = m.md5 AND v.collection = @collection)`;
const LATEST = `(SELECT rowid FROM meme_descriptions WHERE md5 = m.md5 ORDER BY created_at DESC, rowid DESC LIMIT 1)`;

interface CandidateRow {
  id: number;
  md5: string;
  storage_key: string;
  category: string;
  is_animated: number;
  source_type: string;
  tags: string;
  vlm_model: string;
  prompt_version: string;
  description: string;
  ocr_text: string;
  emotions: string;
}

/** The next described memes (by id, after `afterId`) with no vector in the collection, each with its latest description. */
export function findUnembedded(db: Db, collection: string, afterId: number, limit: number): BackfillCandidate[] {
  const rows = db
    .prepare(
      `SELECT m.id, m.md5, m.storage_key, m.category, m.is_animated, m.source_type, m.tags,
              d.vlm_model, d.prompt_version, d.description, d.ocr_text, d.emotions
       FROM memes m JOIN meme_descriptions d ON d.rowid = ${LATEST}
       WHERE m.id > @afterId AND ${MISSING}
       ORDER BY m.id LIMIT @limit`,
    )
    .all({ collection, afterId, limit }) as CandidateRow[];
  return rows.map((r) => ({
    memeId: r.id,
    md5: r.md5,
    storageKey: r.storage_key,
    category: r.category,
    isAnimated: r.is_animated === 1,
    sourceType: r.source_type,
    tags: JSON.parse(r.tags) as string[],
    descriptionKey: { md5: r.md5, vlmModel: r.vlm_model, promptVersion: r.prompt_version },
    description: { description: r.description, ocrText: r.ocr_text, emotions: JSON.parse(r.emotions) as string[] },
  }));
}

/** Memes with no vector in the collection: those that can be embedded now, and those with no description at all. */
export function countUnembedded(db: Db, collection: string): { described: number; undescribed: number } {
  const row = db
    .prepare(
      `SELECT count(*) AS total,
              coalesce(sum(EXISTS (SELECT 1 FROM meme_descriptions d WHERE d.md5 = m.md5)), 0) AS described
       FROM memes m WHERE ${MISSING}`,
    )
    .get({ collection }) as { total: number; described: number };
  return { described: row.described, undescribed: row.total - row.described };
}

/**
 * Writes a batch of vectors (meme_vectors row + vec0 row each, plus the FTS row
 * if the meme has none) in one immediate transaction. A meme that got its
 * vector meanwhile (another process) or was deleted is left alone. Returns the
 * md5s actually written.
 */
export function commitVectors(db: Db, coll: CollectionRow, model: string, batch: readonly BackfillVector[]): string[] {
  const memeExists = db.prepare('SELECT 1 FROM memes WHERE id = ?');
  const insertRow = db.prepare(
    `INSERT INTO meme_vectors (meme_id, md5, collection, model, dims, vlm_model, prompt_version)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (md5, collection) DO NOTHING`,
  );
  const hasFts = db.prepare('SELECT 1 FROM memes_fts WHERE rowid = ?');
  const insertFts = db.prepare('INSERT INTO memes_fts (rowid, ocr_text, description, tags) VALUES (?, ?, ?, ?)');
  return db
    .transaction((): string[] => {
      const written: string[] = [];
      for (const { candidate: c, vector } of batch) {
        if (vector.length !== coll.dims) throw new Error(`vector has ${vector.length} dimensions, collection "${coll.name}" needs ${coll.dims}`);
        if (!memeExists.get(c.memeId)) continue;
        const row = insertRow.run(c.memeId, c.md5, coll.name, model, coll.dims, c.descriptionKey.vlmModel, c.descriptionKey.promptVersion);
        if (row.changes === 0) continue;
        // A vec0 row without its meme_vectors row can only be debris; the new vector replaces it.
        deleteVector(db, coll, c.memeId);
        insertVector(db, coll, c.memeId, vector, { category: c.category, isAnimated: c.isAnimated, source: c.sourceType });
        if (!hasFts.get(c.memeId)) {
          const d = c.description;
          insertFts.run(c.memeId, indexTerms(d.ocrText), indexTerms(d.description), indexTerms(c.tags.join(' ')));
        }
        written.push(c.md5);
      }
      return written;
    })
    .immediate();
}
