/**
 * SQL behind `emomo embed` on PostgreSQL: described memes that have no vector
 * in a collection yet, and a batch of new vectors committed in one
 * transaction. A meme that got its vector meanwhile (another machine) or was
 * removed is left alone.
 */
import type { BackfillCandidate, BackfillVector } from '../ports.js';
import { keywordRow, writeKeywordRows } from './ingest-queries.js';
import type { Sql } from './sql.js';
import { checkDims, upsertVector, type PgCollection } from './vector-tables.js';

const MISSING = `NOT EXISTS (SELECT 1 FROM meme_vectors v WHERE v.md5 = m.md5 AND v.collection = $1)`;

interface CandidateRow {
  id: number;
  md5: string;
  storage_key: string;
  category: string;
  is_animated: boolean;
  source_type: string;
  tags: string[];
  vlm_model: string;
  prompt_version: string;
  description: string;
  ocr_text: string;
  emotions: string[];
}

export async function findUnembedded(sql: Sql, collection: string, afterId: number, limit: number): Promise<BackfillCandidate[]> {
  const { rows } = await sql.query<CandidateRow>(
    `SELECT m.id, m.md5, m.storage_key, m.category, m.is_animated, m.source_type, m.tags,
            d.vlm_model, d.prompt_version, d.description, d.ocr_text, d.emotions
     FROM memes m
     JOIN LATERAL (SELECT * FROM meme_descriptions d WHERE d.md5 = m.md5 ORDER BY d.created_at DESC, d.id DESC LIMIT 1) d ON true
     WHERE m.id > $2 AND ${MISSING}
     ORDER BY m.id LIMIT $3`,
    [collection, afterId, limit],
  );
  return rows.map((r) => ({
    memeId: r.id,
    md5: r.md5,
    storageKey: r.storage_key,
    category: r.category,
    isAnimated: r.is_animated,
    sourceType: r.source_type,
    tags: r.tags,
    descriptionKey: { md5: r.md5, vlmModel: r.vlm_model, promptVersion: r.prompt_version },
    description: { description: r.description, ocrText: r.ocr_text, emotions: r.emotions },
  }));
}

export async function countUnembedded(sql: Sql, collection: string): Promise<{ described: number; undescribed: number }> {
  const { rows } = await sql.query<{ total: number; described: number }>(
    `SELECT count(*) AS total,
            count(*) FILTER (WHERE EXISTS (SELECT 1 FROM meme_descriptions d WHERE d.md5 = m.md5)) AS described
     FROM memes m WHERE ${MISSING}`,
    [collection],
  );
  const row = rows[0]!;
  return { described: row.described, undescribed: row.total - row.described };
}

/** The body of one batch transaction; returns the md5s written. */
export async function commitVectors(sql: Sql, coll: PgCollection, model: string, batch: readonly BackfillVector[]): Promise<string[]> {
  const written: string[] = [];
  for (const { candidate: c, vector } of batch) {
    checkDims(coll, vector);
    const { rows } = await sql.query(
      `INSERT INTO meme_vectors (meme_id, md5, collection, model, dims, vlm_model, prompt_version)
       SELECT id, md5, $3, $4, $5, $6, $7 FROM memes WHERE id = $1 AND md5 = $2 FOR SHARE
       ON CONFLICT (md5, collection) DO NOTHING RETURNING id`,
      [c.memeId, c.md5, coll.name, model, coll.dims, c.descriptionKey.vlmModel, c.descriptionKey.promptVersion],
    );
    if (rows.length === 0) continue;
    await upsertVector(sql, coll, c.memeId, vector);
    const keywords = await sql.query('SELECT 1 FROM meme_keywords WHERE meme_id = $1', [c.memeId]);
    if (keywords.rows.length === 0) await writeKeywordRows(sql, [keywordRow(c.memeId, c.description, c.tags)]);
    written.push(c.md5);
  }
  return written;
}
