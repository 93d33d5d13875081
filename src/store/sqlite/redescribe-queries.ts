/**
 * SQL behind `emomo redescribe` on SQLite: memes whose vector in a collection
 * was made from a description other than the describer's current one, and
 * the one transaction that moves a meme's vector and keyword row to its new
 * description.
 */
import { indexTerms } from '../fts-terms.js';
import type { DescriptionChange, StaleFilter, StaleMeme } from '../ports.js';
import type { Db } from './database.js';
import { deleteVector, insertVector, type CollectionRow } from './vector-tables.js';

const STALE = `FROM memes m JOIN meme_vectors v ON v.md5 = m.md5 AND v.collection = @collection
  WHERE (v.vlm_model <> @vlmModel OR v.prompt_version <> @promptVersion) AND (@animatedOnly = 0 OR m.is_animated = 1)`;
const DESCRIBED = `EXISTS (SELECT 1 FROM meme_descriptions d
  WHERE d.md5 = m.md5 AND d.vlm_model = @vlmModel AND d.prompt_version = @promptVersion)`;

const params = (f: StaleFilter) => ({ collection: f.collection, ...f.current, animatedOnly: f.animatedOnly ? 1 : 0 });

export function countStale(db: Db, filter: StaleFilter): { memes: number; toDescribe: number } {
  const row = db.prepare(`SELECT count(*) AS memes, coalesce(sum(NOT ${DESCRIBED}), 0) AS toDescribe ${STALE}`).get(params(filter)) as {
    memes: number;
    toDescribe: number;
  };
  return row;
}

export function findStale(db: Db, filter: StaleFilter, afterId: number, limit: number): StaleMeme[] {
  const rows = db
    .prepare(
      `SELECT m.id, m.md5, m.storage_key, m.category, m.tags, ${DESCRIBED} AS described
       ${STALE} AND m.id > @afterId ORDER BY m.id LIMIT @limit`,
    )
    .all({ ...params(filter), afterId, limit }) as Array<{ id: number; md5: string; storage_key: string; category: string; tags: string; described: number }>;
  return rows.map((r) => ({
    memeId: r.id,
    md5: r.md5,
    storageKey: r.storage_key,
    category: r.category,
    tags: JSON.parse(r.tags) as string[],
    described: r.described === 1,
  }));
}

export function replaceDescription(db: Db, coll: CollectionRow, change: DescriptionChange): boolean {
  if (change.vector.length !== coll.dims) {
    throw new Error(`vector has ${change.vector.length} dimensions, collection "${coll.name}" needs ${coll.dims}`);
  }
  return db
    .transaction((): boolean => {
      const meme = db.prepare('SELECT category, is_animated, source_type, tags FROM memes WHERE id = ? AND md5 = ?').get(change.memeId, change.md5) as
        | { category: string; is_animated: number; source_type: string; tags: string }
        | undefined;
      if (!meme) return false;
      const moved = db
        .prepare(
          `UPDATE meme_vectors SET model = ?, vlm_model = ?, prompt_version = ?, created_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
           WHERE md5 = ? AND collection = ?`,
        )
        .run(change.embeddingModel, change.descriptionKey.vlmModel, change.descriptionKey.promptVersion, change.md5, coll.name);
      if (moved.changes === 0) return false;
      deleteVector(db, coll, change.memeId);
      insertVector(db, coll, change.memeId, change.vector, { category: meme.category, isAnimated: meme.is_animated === 1, source: meme.source_type });
      const d = change.description;
      const tags = (JSON.parse(meme.tags) as string[]).join(' ');
      db.prepare('DELETE FROM memes_fts WHERE rowid = ?').run(change.memeId);
      db.prepare('INSERT INTO memes_fts (rowid, ocr_text, description, tags) VALUES (?, ?, ?, ?)').run(
        change.memeId,
        indexTerms(d.ocrText),
        indexTerms(d.description),
        indexTerms(tags),
      );
      return true;
    })
    .immediate();
}
