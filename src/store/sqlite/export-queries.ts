/**
 * The sending end of `emomo migrate`: a SQLite library read a page at a time
 * in a stable order (memes and jobs by id, descriptions by rowid), vectors
 * read back as the float32 values stored. Nothing is written.
 */
import type { JobPayload, LibraryCounts, LibraryDescription, LibraryJob, LibraryMeme, LibraryVariant } from '../ports.js';
import type { Db } from './database.js';
import { hasIndex, indexTables } from './quantized-index.js';
import { listCollections, type CollectionRow } from './vector-tables.js';

interface MemeRow {
  id: number;
  md5: string;
  source_type: string;
  source_id: string;
  storage_key: string;
  width: number;
  height: number;
  format: string;
  is_animated: number;
  frames: number;
  file_size: number;
  category: string;
  tags: string;
  source_url: string | null;
  status: string;
  created_at: string;
  updated_at: string;
  phash: string | null;
  picture_hash: string | null;
  picture_colours: string | null;
}

const IDS = 'SELECT value FROM json_each(?)';

export class SqliteExportQueries {
  private vectorReads?: Map<string, (memeId: number) => Buffer | undefined>;

  constructor(private readonly db: Db) {}

  /** Reads the float32 vector of a meme from the collection's plain copy when it has one (fast), else from vec0. */
  private vectorReader(name: string): ((memeId: number) => Buffer | undefined) | undefined {
    if (!this.vectorReads) {
      this.vectorReads = new Map(
        listCollections(this.db).map((c: CollectionRow) => {
          const table = hasIndex(this.db, c.vec_table) ? indexTables(c.vec_table).f32 : c.vec_table;
          const stmt = this.db.prepare(`SELECT embedding FROM "${table}" WHERE meme_id = ?`).pluck();
          return [c.name, (id: number) => stmt.get(id) as Buffer | undefined];
        }),
      );
    }
    return this.vectorReads.get(name);
  }

  memes(afterId: number, limit: number): LibraryMeme[] {
    const rows = this.db.prepare('SELECT * FROM memes WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as MemeRow[];
    if (rows.length === 0) return [];
    const ids = JSON.stringify(rows.map((r) => r.id));
    const sources = groupBy(
      this.db.prepare(`SELECT * FROM meme_sources WHERE meme_id IN (${IDS}) ORDER BY created_at, source_type, source_id`).all(ids) as Array<{
        meme_id: number;
        source_type: string;
        source_id: string;
        source_url: string | null;
        created_at: string;
      }>,
    );
    const vectors = groupBy(
      this.db.prepare(`SELECT * FROM meme_vectors WHERE meme_id IN (${IDS}) ORDER BY id`).all(ids) as Array<{
        meme_id: number;
        collection: string;
        model: string;
        dims: number;
        vlm_model: string;
        prompt_version: string;
        created_at: string;
      }>,
    );
    const keywords = new Map(
      (
        this.db.prepare(`SELECT rowid AS meme_id, ocr_text, description, tags FROM memes_fts WHERE rowid IN (${IDS})`).all(ids) as Array<{
          meme_id: number;
          ocr_text: string;
          description: string;
          tags: string;
        }>
      ).map((k) => [k.meme_id, { ocrText: k.ocr_text, description: k.description, tags: k.tags }]),
    );
    const aliases = groupBy(
      this.db.prepare(`SELECT meme_id, md5, reason, created_at FROM meme_aliases WHERE meme_id IN (${IDS}) ORDER BY md5`).all(ids) as Array<{
        meme_id: number;
        md5: string;
        reason: string;
        created_at: string;
      }>,
    );
    return rows.map((m) => ({
      id: m.id,
      md5: m.md5,
      sourceType: m.source_type,
      sourceId: m.source_id,
      storageKey: m.storage_key,
      width: m.width,
      height: m.height,
      format: m.format,
      isAnimated: m.is_animated === 1,
      frames: m.frames,
      fileSize: m.file_size,
      category: m.category,
      tags: JSON.parse(m.tags) as string[],
      sourceUrl: m.source_url,
      status: m.status,
      createdAt: m.created_at,
      updatedAt: m.updated_at,
      sources: (sources.get(m.id) ?? []).map((s) => ({ sourceType: s.source_type, sourceId: s.source_id, sourceUrl: s.source_url, createdAt: s.created_at })),
      // A vector row whose vector is missing (verify reports it) has nothing to copy.
      vectors: (vectors.get(m.id) ?? []).flatMap((v) => {
        const blob = this.vectorReader(v.collection)?.(m.id);
        if (!blob) return [];
        const vector = new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
        return [{ collection: v.collection, model: v.model, dims: v.dims, vlmModel: v.vlm_model, promptVersion: v.prompt_version, createdAt: v.created_at, vector }];
      }),
      keywords: keywords.get(m.id) ?? null,
      hashes: m.picture_hash ? { phash: m.phash!, picture: m.picture_hash, colours: m.picture_colours! } : null,
      aliases: (aliases.get(m.id) ?? []).map((a) => ({ md5: a.md5, reason: a.reason, createdAt: a.created_at })),
    }));
  }

  descriptions(afterSeq: number, limit: number): LibraryDescription[] {
    const rows = this.db
      .prepare(
        `SELECT rowid AS seq, md5, vlm_model, prompt_version, description, ocr_text, emotions, prompt_tokens, completion_tokens,
                frames, describe_ms, created_at
         FROM meme_descriptions WHERE rowid > ? ORDER BY rowid LIMIT ?`,
      )
      .all(afterSeq, limit) as Array<{
      seq: number;
      md5: string;
      vlm_model: string;
      prompt_version: string;
      description: string;
      ocr_text: string;
      emotions: string;
      prompt_tokens: number | null;
      completion_tokens: number | null;
      frames: number | null;
      describe_ms: number | null;
      created_at: string;
    }>;
    return rows.map((r) => ({
      seq: r.seq,
      key: { md5: r.md5, vlmModel: r.vlm_model, promptVersion: r.prompt_version },
      description: {
        description: r.description,
        ocrText: r.ocr_text,
        emotions: JSON.parse(r.emotions) as string[],
        ...(r.prompt_tokens !== null || r.completion_tokens !== null
          ? { usage: { promptTokens: r.prompt_tokens ?? 0, completionTokens: r.completion_tokens ?? 0 } }
          : {}),
        ...(r.frames !== null && r.describe_ms !== null ? { cost: { frames: r.frames, ms: r.describe_ms } } : {}),
      },
      createdAt: r.created_at,
    }));
  }

  jobs(afterId: number, limit: number): LibraryJob[] {
    const rows = this.db
      .prepare(
        `SELECT id, source_type, source_id, collection, path, stage, reason, attempts, status, next_retry_at, payload, created_at, updated_at
         FROM jobs WHERE id > ? ORDER BY id LIMIT ?`,
      )
      .all(afterId, limit) as Array<Omit<LibraryJob, 'sourceType' | 'sourceId' | 'nextRetryAt' | 'payload' | 'createdAt' | 'updatedAt'> & {
      source_type: string;
      source_id: string;
      next_retry_at: string | null;
      payload: string | null;
      created_at: string;
      updated_at: string;
    }>;
    return rows.map((j) => ({
      id: j.id,
      sourceType: j.source_type,
      sourceId: j.source_id,
      collection: j.collection,
      path: j.path,
      stage: j.stage,
      reason: j.reason,
      attempts: j.attempts,
      status: j.status,
      nextRetryAt: j.next_retry_at,
      payload: j.payload ? (JSON.parse(j.payload) as JobPayload) : null,
      createdAt: j.created_at,
      updatedAt: j.updated_at,
    }));
  }

  variants(afterId: number, limit: number): LibraryVariant[] {
    const rows = this.db
      .prepare(
        `SELECT v.meme_id, m.md5, t.md5 AS template_md5, v.created_at FROM meme_variants v
         JOIN memes m ON m.id = v.meme_id JOIN memes t ON t.id = v.template_id WHERE v.meme_id > ? ORDER BY v.meme_id LIMIT ?`,
      )
      .all(afterId, limit) as Array<{ meme_id: number; md5: string; template_md5: string; created_at: string }>;
    return rows.map((v) => ({ memeId: v.meme_id, md5: v.md5, templateMd5: v.template_md5, createdAt: v.created_at }));
  }

  counts(): LibraryCounts {
    const one = (table: string) => this.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
    return {
      collections: one('collections'),
      memes: one('memes'),
      source_links: one('meme_sources'),
      descriptions: one('meme_descriptions'),
      vectors: one('meme_vectors'),
      keyword_rows: one('memes_fts'),
      jobs: one('jobs'),
      picture_hashes: one('memes WHERE picture_hash IS NOT NULL'),
      aliases: one('meme_aliases'),
      variants: one('meme_variants'),
    };
  }
}

function groupBy<T extends { meme_id: number }>(rows: T[]): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const row of rows) {
    const list = groups.get(row.meme_id);
    if (list) list.push(row);
    else groups.set(row.meme_id, [row]);
  }
  return groups;
}
