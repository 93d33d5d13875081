/**
 * The receiving end of `emomo migrate`: another library's rows written into
 * this one a page at a time. Every row is matched on its natural key and one
 * already present is left alone, so a crashed import runs again from the
 * start and ends exact (perceptual hashes are written to a meme that has
 * none). Rows travel as one JSON parameter per kind (`jsonb_to_recordset`);
 * vectors travel in pgvector's binary format.
 */
import { jobKey } from '../job-key.js';
import type { ImportCounts, LibraryDescription, LibraryJob, LibraryMeme, LibraryVariant } from '../ports.js';
import { tokens, writeKeywordRows } from './ingest-queries.js';
import { saveHashes } from './picture-queries.js';
import type { Sql } from './sql.js';
import { upsertVector, type PgCollection } from './vector-tables.js';

/** The body of one page's transaction. `collection` finds a collection the import created beforehand. */
export async function importMemes(
  sql: Sql,
  collection: (name: string) => PgCollection,
  memes: readonly LibraryMeme[],
): Promise<ImportCounts> {
  const counts: ImportCounts = { memes: 0, source_links: 0, vectors: 0, keyword_rows: 0, picture_hashes: 0, aliases: 0 };
  if (memes.length === 0) return counts;
  const json = (rows: unknown[]) => [JSON.stringify(rows)];
  counts.memes = await written(
    sql,
    `INSERT INTO memes (md5, source_type, source_id, storage_key, width, height, format, is_animated, frames, file_size,
                        category, tags, source_url, status, created_at, updated_at)
     SELECT md5, source_type, source_id, storage_key, width, height, format, is_animated, frames, file_size,
            category, tags, source_url, status, created_at, updated_at
     FROM jsonb_to_recordset($1::jsonb) AS x (ord int, md5 text, source_type text, source_id text, storage_key text, width int,
          height int, format text, is_animated boolean, frames int, file_size bigint, category text, tags jsonb,
          source_url text, status text, created_at timestamptz, updated_at timestamptz)
     ORDER BY ord
     ON CONFLICT (md5) DO NOTHING`,
    json(
      memes.map((m, ord) => ({
        ord, md5: m.md5, source_type: m.sourceType, source_id: m.sourceId, storage_key: m.storageKey, width: m.width,
        height: m.height, format: m.format, is_animated: m.isAnimated, frames: m.frames, file_size: m.fileSize,
        category: m.category, tags: m.tags, source_url: m.sourceUrl, status: m.status, created_at: m.createdAt, updated_at: m.updatedAt,
      })),
    ),
  );
  counts.source_links = await written(
    sql,
    `INSERT INTO meme_sources (source_type, source_id, meme_id, source_url, created_at)
     SELECT x.source_type, x.source_id, m.id, x.source_url, x.created_at
     FROM jsonb_to_recordset($1::jsonb) AS x (md5 text, source_type text, source_id text, source_url text, created_at timestamptz)
     JOIN memes m ON m.md5 = x.md5
     ON CONFLICT (source_type, source_id) DO NOTHING`,
    json(memes.flatMap((m) => m.sources.map((s) => ({ md5: m.md5, source_type: s.sourceType, source_id: s.sourceId, source_url: s.sourceUrl, created_at: s.createdAt })))),
  );
  // This library's ids of the memes, and the collections each already has a vector in.
  const { rows } = await sql.query<{ id: number; md5: string; collections: string[] }>(
    `SELECT m.id, m.md5, coalesce(array_agg(mv.collection) FILTER (WHERE mv.collection IS NOT NULL), '{}') AS collections
     FROM memes m LEFT JOIN meme_vectors mv ON mv.md5 = m.md5 WHERE m.md5 = ANY($1::text[]) GROUP BY m.id`,
    [memes.map((m) => m.md5)],
  );
  const here = new Map(rows.map((r) => [r.md5, r]));
  counts.keyword_rows = await writeKeywordRows(
    sql,
    memes.flatMap((m) => (m.keywords ? [{ memeId: here.get(m.md5)!.id, ...m.keywords }] : [])),
    'keep',
  );
  counts.picture_hashes = await saveHashes(sql, memes.flatMap((m) => (m.hashes ? [{ id: here.get(m.md5)!.id, md5: m.md5, ...m.hashes }] : [])));
  counts.aliases = await written(
    sql,
    `INSERT INTO meme_aliases (md5, meme_id, reason, created_at)
     SELECT x.md5, m.id, x.reason, x.created_at
     FROM jsonb_to_recordset($1::jsonb) AS x (md5 text, meme_md5 text, reason text, created_at timestamptz)
     JOIN memes m ON m.md5 = x.meme_md5
     ON CONFLICT (md5) DO NOTHING`,
    json(memes.flatMap((m) => m.aliases.map((a) => ({ md5: a.md5, meme_md5: m.md5, reason: a.reason, created_at: a.createdAt })))),
  );
  // Vectors are the heavy part: only those missing here are sent.
  for (const meme of memes) {
    const target = here.get(meme.md5)!;
    for (const v of meme.vectors) {
      if (target.collections.includes(v.collection)) continue;
      const coll = collection(v.collection);
      await sql.query(
        `INSERT INTO meme_vectors (meme_id, md5, collection, model, dims, vlm_model, prompt_version, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [target.id, meme.md5, coll.name, v.model, v.dims, v.vlmModel, v.promptVersion, v.createdAt],
      );
      await upsertVector(sql, coll, target.id, v.vector);
      counts.vectors++;
    }
  }
  return counts;
}

export async function importDescriptions(sql: Sql, rows: readonly LibraryDescription[]): Promise<number> {
  return written(
    sql,
    `INSERT INTO meme_descriptions (md5, vlm_model, prompt_version, description, ocr_text, emotions, prompt_tokens, completion_tokens,
                                    frames, describe_ms, created_at)
     SELECT md5, vlm_model, prompt_version, description, ocr_text, emotions, prompt_tokens, completion_tokens, frames, describe_ms, created_at
     FROM jsonb_to_recordset($1::jsonb) AS x (seq bigint, md5 text, vlm_model text, prompt_version text, description text, ocr_text text,
          emotions jsonb, prompt_tokens int, completion_tokens int, frames int, describe_ms int, created_at timestamptz)
     ORDER BY seq
     ON CONFLICT (md5, vlm_model, prompt_version) DO NOTHING`,
    [
      JSON.stringify(
        rows.map((r) => ({
          seq: r.seq, md5: r.key.md5, vlm_model: r.key.vlmModel, prompt_version: r.key.promptVersion, description: r.description.description,
          ocr_text: r.description.ocrText, emotions: r.description.emotions, prompt_tokens: tokens(r.description.usage?.promptTokens),
          completion_tokens: tokens(r.description.usage?.completionTokens), frames: tokens(r.description.cost?.frames),
          describe_ms: tokens(r.description.cost?.ms), created_at: r.createdAt,
        })),
      ),
    ],
  );
}

export async function importJobs(sql: Sql, rows: readonly LibraryJob[]): Promise<number> {
  return written(
    sql,
    `INSERT INTO jobs (idempotency_key, source_type, source_id, collection, path, stage, reason, attempts, status,
                       next_retry_at, payload, created_at, updated_at)
     SELECT key, source_type, source_id, collection, path, stage, reason, attempts,
            CASE WHEN status = 'processing' THEN 'pending' ELSE status END,
            CASE WHEN status = 'processing' THEN NULL ELSE next_retry_at END, payload, created_at, updated_at
     FROM jsonb_to_recordset($1::jsonb) AS x (id bigint, key text, source_type text, source_id text, collection text, path text,
          stage text, reason text, attempts int, status text, next_retry_at timestamptz, payload jsonb,
          created_at timestamptz, updated_at timestamptz)
     ORDER BY id
     ON CONFLICT (idempotency_key) DO NOTHING`,
    [
      JSON.stringify(
        rows.map((j) => ({
          id: j.id, key: jobKey(j.sourceType, j.sourceId, j.collection), source_type: j.sourceType, source_id: j.sourceId,
          collection: j.collection, path: j.path, stage: j.stage, reason: j.reason, attempts: j.attempts, status: j.status,
          next_retry_at: j.nextRetryAt, payload: j.payload, created_at: j.createdAt, updated_at: j.updatedAt,
        })),
      ),
    ],
  );
}

export async function importVariants(sql: Sql, rows: readonly LibraryVariant[]): Promise<number> {
  return written(
    sql,
    `INSERT INTO meme_variants (meme_id, template_id, created_at)
     SELECT m.id, t.id, x.created_at
     FROM jsonb_to_recordset($1::jsonb) AS x (md5 text, template_md5 text, created_at timestamptz)
     JOIN memes m ON m.md5 = x.md5 JOIN memes t ON t.md5 = x.template_md5
     ON CONFLICT (meme_id) DO NOTHING`,
    [JSON.stringify(rows.map((v) => ({ md5: v.md5, template_md5: v.templateMd5, created_at: v.createdAt })))],
  );
}

async function written(sql: Sql, text: string, params: unknown[]): Promise<number> {
  return (await sql.query(text, params)).rowCount ?? 0;
}
