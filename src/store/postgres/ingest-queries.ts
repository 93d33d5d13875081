/**
 * The SQL behind the item pipeline on PostgreSQL: find what is known of an
 * image, keep its paid description, and commit a finished item (meme, source
 * link, vector row, vector and keyword row) in one transaction. Two machines
 * committing the same image meet on `memes.md5`: the second reuses the row.
 */
import type { Description, SourceItem } from '../../ports.js';
import { indexTerms } from '../fts-terms.js';
import type { CommitInput, CommitResult, DescriptionKey, MemeRecord } from '../ports.js';
import { markJobDone } from './job-queries.js';
import { saveHashes } from './picture-queries.js';
import { sqlState, type Sql } from './sql.js';
import { checkDims, deleteVector, upsertVector, type PgCollection } from './vector-tables.js';

export interface MemeRow {
  id: number;
  md5: string;
  storage_key: string;
  source_type: string;
  source_id: string;
  width: number;
  height: number;
  format: string;
  is_animated: boolean;
  category: string;
  tags: string[];
}

export async function hasVector(sql: Sql, md5: string, collection: string): Promise<boolean> {
  const { rows } = await sql.query('SELECT 1 FROM meme_vectors WHERE md5 = $1 AND collection = $2', [md5, collection]);
  return rows.length > 0;
}

export async function findMemeByMd5(sql: Sql, md5: string): Promise<MemeRecord | undefined> {
  const { rows } = await sql.query<MemeRow>('SELECT * FROM memes WHERE md5 = $1', [md5]);
  return rows[0] && toMeme(rows[0]);
}

export async function findDescription(sql: Sql, key: DescriptionKey): Promise<Description | undefined> {
  const { rows } = await sql.query<{ description: string; ocr_text: string; emotions: string[] }>(
    `SELECT description, ocr_text, emotions FROM meme_descriptions WHERE md5 = $1 AND vlm_model = $2 AND prompt_version = $3`,
    [key.md5, key.vlmModel, key.promptVersion],
  );
  const row = rows[0];
  return row && { description: row.description, ocrText: row.ocr_text, emotions: row.emotions };
}

export async function findLatestDescription(sql: Sql, md5: string): Promise<{ key: DescriptionKey; description: Description } | undefined> {
  const { rows } = await sql.query<{ vlm_model: string; prompt_version: string; description: string; ocr_text: string; emotions: string[] }>(
    `SELECT vlm_model, prompt_version, description, ocr_text, emotions FROM meme_descriptions WHERE md5 = $1
     ORDER BY created_at DESC, id DESC LIMIT 1`,
    [md5],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    key: { md5, vlmModel: row.vlm_model, promptVersion: row.prompt_version },
    description: { description: row.description, ocrText: row.ocr_text, emotions: row.emotions },
  };
}

export async function saveDescription(sql: Sql, key: DescriptionKey, d: Description): Promise<void> {
  await sql.query(
    `INSERT INTO meme_descriptions
       (md5, vlm_model, prompt_version, description, ocr_text, emotions, prompt_tokens, completion_tokens, frames, describe_ms)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10)
     ON CONFLICT (md5, vlm_model, prompt_version) DO NOTHING`,
    [
      key.md5, key.vlmModel, key.promptVersion, d.description, d.ocrText, JSON.stringify(d.emotions),
      tokens(d.usage?.promptTokens), tokens(d.usage?.completionTokens), tokens(d.cost?.frames), tokens(d.cost?.ms),
    ],
  );
}

/** Counts as the integer columns hold them (a provider reporting fractional tokens is rounded, never refused). */
export function tokens(count: number | undefined): number | null {
  return count === undefined ? null : Math.round(count);
}

/** Links a source item to a meme; false (nothing written) when the meme is gone, e.g. purged since it was looked up. */
export async function linkSource(sql: Sql, item: SourceItem, memeId: number): Promise<boolean> {
  try {
    const { rowCount } = await sql.query(
      `INSERT INTO meme_sources (source_type, source_id, meme_id, source_url)
       SELECT $1, $2, id, $4 FROM memes WHERE id = $3
       ON CONFLICT (source_type, source_id) DO UPDATE SET meme_id = excluded.meme_id, source_url = excluded.source_url`,
      [item.sourceType, item.sourceId, memeId, item.sourceUrl ?? null],
    );
    return (rowCount ?? 0) > 0;
  } catch (err) {
    // The meme was there when the row was written and a purge removed it before the link's key check.
    if (sqlState(err) === '23503') return false;
    throw err;
  }
}

export async function isStorageKeyReferenced(sql: Sql, key: string): Promise<boolean> {
  return (await sql.query('SELECT 1 FROM memes WHERE storage_key = $1 LIMIT 1', [key])).rows.length > 0;
}

/** A keyword row as indexed terms (src/store/fts-terms.ts). */
export interface KeywordRow {
  memeId: number;
  ocrText: string;
  description: string;
  tags: string;
}

/** A meme's keyword row, segmented from a description and its tags. */
export function keywordRow(memeId: number, d: Pick<Description, 'ocrText' | 'description'>, tags: readonly string[]): KeywordRow {
  return { memeId, ocrText: indexTerms(d.ocrText), description: indexTerms(d.description), tags: indexTerms(tags.join(' ')) };
}

/**
 * Writes keyword rows in one statement: a row already there is replaced, or
 * with `keep` left as it is (a migrated row arrives as it was). The only
 * writer of meme_keywords.
 */
export async function writeKeywordRows(sql: Sql, rows: readonly KeywordRow[], existing: 'replace' | 'keep' = 'replace'): Promise<number> {
  if (rows.length === 0) return 0;
  const { rowCount } = await sql.query(
    `INSERT INTO meme_keywords (meme_id, ocr_text, description, tags)
     SELECT meme_id, ocr_text, description, tags FROM jsonb_to_recordset($1::jsonb) AS x (meme_id bigint, ocr_text text, description text, tags text)
     ON CONFLICT (meme_id) DO ${existing === 'keep' ? 'NOTHING' : 'UPDATE SET ocr_text = excluded.ocr_text, description = excluded.description, tags = excluded.tags'}`,
    [JSON.stringify(rows.map((r) => ({ meme_id: r.memeId, ocr_text: r.ocrText, description: r.description, tags: r.tags })))],
  );
  return rowCount ?? 0;
}

/** The image is committed: its claims are moot, and none is left behind by a worker killed before releasing its own. */
async function clearClaims(sql: Sql, md5: string, collection: string): Promise<void> {
  await sql.query('DELETE FROM item_claims WHERE md5 = $1 AND collection = $2', [md5, collection]);
}

/** The body of one commit transaction (the caller holds the transaction). */
export async function commitItem(sql: Sql, coll: PgCollection, input: CommitInput): Promise<CommitResult> {
  checkDims(coll, input.vector);
  const { item, facts } = input;
  const inserted = await sql.query<{ id: number }>(
    `INSERT INTO memes (md5, source_type, source_id, storage_key, width, height, format, is_animated,
                        frames, file_size, category, tags, source_url)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13)
     ON CONFLICT (md5) DO NOTHING RETURNING id`,
    [
      facts.md5, item.sourceType, item.sourceId, input.storageKey, facts.width, facts.height, facts.format,
      facts.isAnimated, facts.frames, facts.fileSize, item.category, JSON.stringify(item.tags), item.sourceUrl ?? null,
    ],
  );
  // Locks the meme row, so a purge or repair cannot remove it under this commit.
  const { rows } = await sql.query<{ id: number; tags: string[] }>('SELECT id, tags FROM memes WHERE md5 = $1 FOR SHARE', [facts.md5]);
  // Gone already: a purge removed the meme this image had after the insert found it; the image is new again.
  if (rows.length === 0) return commitItem(sql, coll, input);
  const memeCreated = inserted.rows.length > 0;
  const meme = rows[0]!;
  // The image is in the library in its own right now, no longer a duplicate of another meme.
  if (memeCreated) await sql.query('DELETE FROM meme_aliases WHERE md5 = $1', [facts.md5]);
  if (input.hashes) await saveHashes(sql, [{ id: meme.id, md5: facts.md5, ...input.hashes }]);
  await linkSource(sql, item, meme.id);

  if (input.replace) {
    await sql.query('DELETE FROM meme_vectors WHERE md5 = $1 AND collection = $2', [facts.md5, coll.name]);
    await deleteVector(sql, coll, meme.id);
  }
  // A process committing the image at the same moment waits here for the other's transaction.
  const vectorRow = await sql.query(
    `INSERT INTO meme_vectors (meme_id, md5, collection, model, dims, vlm_model, prompt_version)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (md5, collection) DO NOTHING RETURNING 1`,
    [meme.id, facts.md5, coll.name, input.embeddingModel, coll.dims, input.descriptionKey.vlmModel, input.descriptionKey.promptVersion],
  );
  if (vectorRow.rows.length === 0) {
    await markJobDone(sql, item.sourceType, item.sourceId, coll.name);
    await clearClaims(sql, facts.md5, coll.name);
    return { memeId: meme.id, memeCreated, alreadyEmbedded: true };
  }
  await upsertVector(sql, coll, meme.id, input.vector);
  await writeKeywordRows(sql, [keywordRow(meme.id, input.description, meme.tags)]);
  await markJobDone(sql, item.sourceType, item.sourceId, coll.name);
  await clearClaims(sql, facts.md5, coll.name);
  return { memeId: meme.id, memeCreated, alreadyEmbedded: false };
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
    isAnimated: row.is_animated,
    category: row.category,
    tags: row.tags,
  };
}
