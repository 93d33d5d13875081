/**
 * RecallIndex on SQLite, the vector side and the memes recalled (keyword
 * recall: keyword-queries.ts): KNN in the collection's vec0 table (exact
 * float32), or the partitioned index of quantized-index.ts (coarse pass in
 * quantized-search.ts, then exact float32 rescoring), filters inside. Tags
 * are a JSON array, so a tag filter (and a source filter, which may match any
 * meme_sources row) is turned into the set of matching meme ids with
 * json_each and passed into the KNN as `meme_id IN (...)`: k results still
 * come back when at least k match.
 */
import type {
  CollectionInfo,
  RecalledMeme,
  RecallFilters,
  VectorHit,
  VectorSearchResult,
} from '../ports.js';
import type { Db } from './database.js';
import { hasIndex, indexTables } from './quantized-index.js';
import { memeWhere, metadataWhere, needsIdSet } from './meme-filters.js';
import { coarseCandidates, type CoarseTuning } from './quantized-search.js';
import { Statements } from './statements.js';
import { vectorBlob } from './vector-blobs.js';
import { vecTableName, type CollectionRow } from './vector-tables.js';

/** A collection as this adapter sees it: with or without the partitioned index. */
export interface SqliteCollection extends CollectionInfo {
  /** Whether the partitioned index exists (dimension a multiple of 8). */
  fast: boolean;
}

/** Tuning of the SQLite vector search; the port only knows `exact`. */
export interface VectorSearchOptions extends CoarseTuning {
  /** Force the exact float32 KNN. */
  exact?: boolean;
  /** Collections smaller than this are searched exactly (default EXACT_BELOW). */
  exactBelow?: number;
}

/** Below this many vectors an exact KNN is fast enough (and exact). */
export const EXACT_BELOW = 20_000;
/** A filtered id set this small is scored exactly, row by row, without a KNN. */
const SMALL_SET = 2_000;

/** The recall queries on one connection (synchronous; SqliteStore exposes them through the async port). */
export class SqliteRecallQueries {
  private readonly vecTables = new Map<string, string>();
  private readonly statements: Statements;

  constructor(private readonly db: Db) {
    this.statements = new Statements(db);
  }

  /** The categories and sources present, for a hint when a filter matches nothing. */
  filterValues(): { categories: string[]; sources: string[] } {
    const column = (sql: string) => this.db.prepare(sql).pluck().all() as string[];
    return {
      categories: column('SELECT DISTINCT category FROM memes ORDER BY category'),
      sources: column('SELECT DISTINCT source_type FROM meme_sources ORDER BY source_type'),
    };
  }

  collection(name: string): SqliteCollection | undefined {
    const row = this.statements.get('SELECT name, dims, model, vec_table FROM collections WHERE name = ?').get(name) as
      | CollectionRow
      | undefined;
    if (!row) return undefined;
    this.vecTables.set(row.name, row.vec_table);
    return { name: row.name, dims: row.dims, model: row.model, size: this.size(row.vec_table), fast: hasIndex(this.db, row.vec_table) };
  }

  private size(vecTable: string): number {
    try {
      // vec0's own rowid map: a plain table, counted without touching the vectors.
      return this.statements.get(`SELECT count(*) FROM "${vecTable}_rowids"`).pluck().get() as number;
    } catch {
      return this.db.prepare(`SELECT count(*) FROM "${vecTable}"`).pluck().get() as number;
    }
  }

  vectorSearch(
    coll: SqliteCollection,
    vector: Float32Array,
    k: number,
    filters: RecallFilters,
    options: VectorSearchOptions = {},
  ): VectorSearchResult {
    const vecTable = this.vecTables.get(coll.name) ?? vecTableName(coll.name);
    const query = vectorBlob(vector);
    const ids = needsIdSet(filters) ? this.matchingIds(filters) : undefined;
    if (ids && ids.length === 0) return { hits: [], method: 'exact', candidates: 0 };
    if (ids && ids.length <= SMALL_SET && coll.fast) {
      return { hits: this.rescore(vecTable, query, ids, k), method: 'exact', candidates: ids.length };
    }
    const fast = coll.fast && !options.exact && coll.size >= (options.exactBelow ?? EXACT_BELOW);
    if (!fast) return { hits: this.exactKnn(vecTable, query, k, filters, ids), method: 'exact', candidates: coll.size };

    const coarse = coarseCandidates(this.db, vecTable, vector, k, metadataWhere(filters, ids), coll.size, options);
    return { hits: this.rescore(vecTable, query, coarse.ids, k), method: 'quantized', candidates: coarse.ids.length };
  }

  /** Exact cosine over the float32 copies of the given memes. */
  private rescore(vecTable: string, query: Buffer, ids: readonly number[], k: number): VectorHit[] {
    return this.db
      .prepare(
        `SELECT meme_id AS memeId, vec_distance_cosine(embedding, ?) AS distance FROM "${indexTables(vecTable).f32}"
         WHERE meme_id IN (SELECT value FROM json_each(?)) ORDER BY distance, meme_id LIMIT ?`,
      )
      .all(query, JSON.stringify(ids), k) as VectorHit[];
  }

  private exactKnn(vecTable: string, query: Buffer, k: number, filters: RecallFilters, ids?: number[]): VectorHit[] {
    const { where, params } = metadataWhere(filters, ids);
    return this.db
      .prepare(
        `SELECT meme_id AS memeId, distance FROM "${vecTable}"
         WHERE embedding MATCH ? AND k = CAST(? AS INTEGER)${where} ORDER BY distance`,
      )
      .all(query, k, ...params) as VectorHit[];
  }

  /** Ids of memes passing every filter (used when a tag or source filter cannot be vec0 metadata). */
  private matchingIds(filters: RecallFilters): number[] {
    const { where, params } = memeWhere(filters);
    return this.db.prepare(`SELECT m.id FROM memes m WHERE 1 = 1${where}`).pluck().all(...params) as number[];
  }

  memes(ids: readonly number[]): Map<number, RecalledMeme> {
    const rows = this.statements.get(
      `SELECT m.id, m.md5, m.storage_key, m.category, m.tags, m.is_animated, m.source_type,
              d.description, d.ocr_text, f.ocr_text AS t_ocr, f.description AS t_desc, f.tags AS t_tags
       FROM memes m
       LEFT JOIN memes_fts f ON f.rowid = m.id
       LEFT JOIN meme_descriptions d ON d.rowid = (
         SELECT rowid FROM meme_descriptions WHERE md5 = m.md5 ORDER BY created_at DESC, rowid DESC LIMIT 1)
       WHERE m.id IN (SELECT value FROM json_each(?))`,
    ).all(JSON.stringify(ids)) as MemeJoinRow[];
    return new Map(
      rows.map((r) => [
        r.id,
        {
          id: r.id,
          md5: r.md5,
          storageKey: r.storage_key,
          category: r.category,
          tags: JSON.parse(r.tags) as string[],
          isAnimated: r.is_animated === 1,
          sourceType: r.source_type,
          description: r.description ?? '',
          ocrText: r.ocr_text ?? '',
          indexedTerms: [r.t_ocr ?? '', r.t_desc ?? '', r.t_tags ?? ''],
        },
      ]),
    );
  }
}

interface MemeJoinRow {
  id: number;
  md5: string;
  storage_key: string;
  category: string;
  tags: string;
  is_animated: number;
  source_type: string;
  description: string | null;
  ocr_text: string | null;
  t_ocr: string | null;
  t_desc: string | null;
  t_tags: string | null;
}
