/** BrowseStore on PostgreSQL: one meme with its description and sources, and whether another connection committed. */
import type { MemeDetails } from '../ports.js';
import { toMeme, type MemeRow } from './ingest-queries.js';
import type { Sql } from './sql.js';

interface DetailsRow extends MemeRow {
  frames: number;
  file_size: number;
  created_at: Date;
  description: string | null;
  ocr_text: string | null;
  emotions: string[] | null;
  vlm_model: string | null;
  prompt_version: string | null;
}

export async function memeDetails(sql: Sql, md5: string): Promise<MemeDetails | undefined> {
  const { rows } = await sql.query<DetailsRow>(
    `SELECT m.*, d.description, d.ocr_text, d.emotions, d.vlm_model, d.prompt_version
     FROM memes m
     LEFT JOIN LATERAL (
       SELECT description, ocr_text, emotions, vlm_model, prompt_version FROM meme_descriptions
       WHERE md5 = m.md5 ORDER BY created_at DESC, id DESC LIMIT 1) d ON true
     WHERE m.md5 = $1`,
    [md5],
  );
  const row = rows[0];
  if (!row) return undefined;
  const sources = await sql.query<MemeDetails['sources'][number]>(
    `SELECT source_type AS "sourceType", source_id AS "sourceId", source_url AS "sourceUrl"
     FROM meme_sources WHERE meme_id = $1 ORDER BY created_at, source_type, source_id`,
    [row.id],
  );
  return {
    ...toMeme(row),
    frames: row.frames,
    fileSize: row.file_size,
    createdAt: row.created_at.toISOString(),
    description: row.description ?? '',
    ocrText: row.ocr_text ?? '',
    emotions: row.emotions ?? [],
    describedBy: row.vlm_model === null ? null : { vlmModel: row.vlm_model, promptVersion: row.prompt_version ?? '' },
    sources: sources.rows,
  };
}

/**
 * The server's current snapshot (`xmin:xmax:in-progress ids`): it changes
 * whenever a writing transaction starts or ends anywhere on the server, so a
 * commit by another connection always moves it (read-only statements, such as
 * serve's own, take no transaction id and leave it alone). One cheap call, no
 * table read.
 */
export async function changeMark(sql: Sql): Promise<string> {
  const { rows } = await sql.query<{ mark: string }>('SELECT pg_current_snapshot()::text AS mark');
  return rows[0]!.mark;
}
