/** BrowseStore on SQLite: one meme with its description and sources, and the connection's view of other writers. */
import type { MemeDetails } from '../ports.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';
import { toMeme, type MemeRow } from './ingest-queries.js';

interface DetailsRow extends MemeRow {
  frames: number;
  file_size: number;
  created_at: string;
  description: string | null;
  ocr_text: string | null;
  emotions: string | null;
  vlm_model: string | null;
  prompt_version: string | null;
}

export function memeDetails(db: Db, md5: string): MemeDetails | undefined {
  const row = db
    .prepare(
      `SELECT m.id, m.md5, m.storage_key, m.source_type, m.source_id, m.width, m.height, m.format, m.is_animated,
              m.frames, m.file_size, m.category, m.tags, m.created_at,
              d.description, d.ocr_text, d.emotions, d.vlm_model, d.prompt_version
       FROM memes m
       LEFT JOIN meme_descriptions d ON d.rowid = (
         SELECT rowid FROM meme_descriptions WHERE md5 = m.md5 ORDER BY created_at DESC, rowid DESC LIMIT 1)
       WHERE m.md5 = ?`,
    )
    .get(md5) as DetailsRow | undefined;
  if (!row) return undefined;
  const sources = db
    .prepare(
      `SELECT source_type AS sourceType, source_id AS sourceId, source_url AS sourceUrl
       FROM meme_sources WHERE meme_id = ? ORDER BY created_at, source_type, source_id`,
    )
    .all(row.id) as MemeDetails['sources'];
  return {
    ...toMeme(row),
    frames: row.frames,
    fileSize: row.file_size,
    createdAt: row.created_at,
    description: row.description ?? '',
    ocrText: row.ocr_text ?? '',
    emotions: row.emotions ? (JSON.parse(row.emotions) as string[]) : [],
    describedBy: row.vlm_model === null ? null : { vlmModel: row.vlm_model, promptVersion: row.prompt_version ?? '' },
    sources,
  };
}

/**
 * `PRAGMA data_version`: changes when any other connection commits to the
 * file (this connection's own writes leave it alone; serve never writes).
 * Costs no I/O beyond what SQLite already checks at each statement.
 */
export function changeMark(db: Db): string {
  // Asked before every cached answer of emomo serve: prepared once per connection (db.pragma prepares each time, 3x the cost).
  let statement = dataVersion.get(db);
  if (!statement) dataVersion.set(db, (statement = db.prepare('PRAGMA data_version').pluck()));
  return String(statement.get());
}

const dataVersion = new WeakMap<Db, Statement>();

/**
 * Changes whenever the library's content may have: another connection
 * committed (`data_version`) or this one changed rows (`total_changes()`,
 * triggers included). What a cache of derived figures on this connection is
 * valid for.
 */
export function contentMark(db: Db): string {
  let statement = contentVersion.get(db);
  if (!statement) contentVersion.set(db, (statement = db.prepare('SELECT data_version, total_changes() FROM pragma_data_version').raw()));
  return (statement.get() as number[]).join(':');
}

const contentVersion = new WeakMap<Db, Statement>();
