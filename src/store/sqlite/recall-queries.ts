/**
 * RecallIndex on SQLite: KNN in the collection's vec0 table (exact float32),
 * or the partitioned index of quantized-index.ts (coarse pass in
 * quantized-search.ts, then exact float32 rescoring), BM25 over memes_fts,
 * filters inside both. Tags are a JSON array, so a tag filter (and a source
 * filter, which may match any meme_sources row) is turned into the set of
 * matching meme ids with json_each and passed into the KNN as
 * `meme_id IN (...)`: k results still come back when at least k match.
 */
import { captionPhraseExpression, indexTerms, matchExpression, phrasesExpression, queryTerms } from '../fts-terms.js';
import type {
  CollectionInfo,
  KeywordHit,
  KeywordQuery,
  RecalledMeme,
  RecallFilters,
  TermStatistics,
  VectorHit,
  VectorSearchResult,
} from '../ports.js';
import type { Db } from './database.js';
import { hasIndex, indexTables } from './quantized-index.js';
import { coarseCandidates, type CoarseTuning } from './quantized-search.js';
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
/** FTS5 column weights: the caption is what people remember, then tags, then the description. */
const BM25 = 'bm25(memes_fts, 4.0, 1.0, 2.0)';

type Params = unknown[];

/** The recall queries on one connection (synchronous; SqliteStore exposes them through the async port). */
export class SqliteRecallQueries {
  private readonly vecTables = new Map<string, string>();

  constructor(private readonly db: Db) {}

  /** The categories and sources present, for a hint when a filter matches nothing. */
  filterValues(): { categories: string[]; sources: string[] } {
    const column = (sql: string) => this.db.prepare(sql).pluck().all() as string[];
    return {
      categories: column('SELECT DISTINCT category FROM memes ORDER BY category'),
      sources: column('SELECT DISTINCT source_type FROM meme_sources ORDER BY source_type'),
    };
  }

  collection(name: string): SqliteCollection | undefined {
    const row = this.db.prepare('SELECT name, dims, model, vec_table FROM collections WHERE name = ?').get(name) as
      | CollectionRow
      | undefined;
    if (!row) return undefined;
    this.vecTables.set(row.name, row.vec_table);
    return { name: row.name, dims: row.dims, model: row.model, size: this.size(row.vec_table), fast: hasIndex(this.db, row.vec_table) };
  }

  private size(vecTable: string): number {
    try {
      // vec0's own rowid map: a plain table, counted without touching the vectors.
      return this.db.prepare(`SELECT count(*) FROM "${vecTable}_rowids"`).pluck().get() as number;
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

  /**
   * The query is segmented like the index (fts-terms.ts) and every term or
   * phrase quoted into an FTS5 OR expression, so user input never reaches
   * FTS5 as syntax. A caption that is exactly the query (same indexed terms)
   * ranks first: the user typed it. Those captions are found through the
   * index as a phrase and compared there, not by reading the caption of every
   * meme the terms match (a common word matches thousands: that comparison
   * was most of a search's time).
   */
  keywordSearch(query: KeywordQuery, k: number, filters: RecallFilters): KeywordHit[] {
    const match =
      'text' in query ? matchExpression(queryTerms(query.text))
      : 'terms' in query ? matchExpression(query.terms)
      : phrasesExpression(query.phrases);
    if (!match) return [];
    const exactIds = 'text' in query ? this.exactCaptions(query.text) : [];
    const exact = exactIds.length > 0 ? this.bm25Top(match, k, filters, exactIds) : [];
    if (exact.length >= k) return exact.map((hit) => ({ ...hit, exact: true }));
    const taken = new Set(exact.map((hit) => hit.memeId));
    const rest = this.bm25Top(match, k, filters).filter((hit) => !taken.has(hit.memeId));
    return [...exact.map((hit) => ({ ...hit, exact: true })), ...rest.map((hit) => ({ ...hit, exact: false }))].slice(0, k);
  }

  /** Memes whose caption's indexed terms are exactly the text's. */
  private exactCaptions(text: string): number[] {
    const phrase = captionPhraseExpression(text);
    if (!phrase) return [];
    return this.db
      .prepare('SELECT f.rowid FROM memes_fts f WHERE memes_fts MATCH ? AND f.ocr_text = ?')
      .pluck()
      .all(phrase, indexTerms(text)) as number[];
  }

  /**
   * The k best BM25 scores for a match, filters applied (memes joined only
   * when a filter asks), optionally among given memes (`+f.rowid`: checked
   * row by row as FTS5 walks its doclists, not looked up one id at a time).
   */
  private bm25Top(match: string, k: number, filters: RecallFilters, among?: readonly number[]): Array<{ memeId: number; bm25: number }> {
    const { where, params } = memeWhere(filters);
    const from = where ? 'memes_fts f JOIN memes m ON m.id = f.rowid' : 'memes_fts f';
    const within = among ? ' AND +f.rowid IN (SELECT value FROM json_each(?))' : '';
    return this.db
      .prepare(
        `SELECT f.rowid AS memeId, -${BM25} AS bm25 FROM ${from}
         WHERE memes_fts MATCH ?${within}${where} ORDER BY ${BM25}, f.rowid LIMIT ?`,
      )
      .all(match, ...(among ? [JSON.stringify(among)] : []), ...params, k) as Array<{ memeId: number; bm25: number }>;
  }

  documentFrequencies(terms: readonly string[]): TermStatistics {
    // fts5vocab counts a term's documents from its doclist (cost grows with the count), and
    // the docsize shadow table has one small row per indexed meme: both stay exact as memes come and go.
    const documents = this.db.prepare('SELECT count(*) FROM memes_fts_docsize').pluck().get() as number;
    const frequencies = new Map<string, number>();
    if (terms.length === 0) return { documents, frequencies };
    const rows = this.db
      .prepare('SELECT term, doc FROM memes_fts_vocab WHERE term IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify([...new Set(terms)])) as Array<{ term: string; doc: number }>;
    for (const r of rows) frequencies.set(r.term, r.doc);
    return { documents, frequencies };
  }

  memes(ids: readonly number[]): Map<number, RecalledMeme> {
    const rows = this.db
      .prepare(
        `SELECT m.id, m.md5, m.storage_key, m.category, m.tags, m.is_animated, m.source_type,
                d.description, d.ocr_text, f.ocr_text AS t_ocr, f.description AS t_desc, f.tags AS t_tags
         FROM memes m
         LEFT JOIN memes_fts f ON f.rowid = m.id
         LEFT JOIN meme_descriptions d ON d.rowid = (
           SELECT rowid FROM meme_descriptions WHERE md5 = m.md5 ORDER BY created_at DESC, rowid DESC LIMIT 1)
         WHERE m.id IN (SELECT value FROM json_each(?))`,
      )
      .all(JSON.stringify(ids)) as MemeJoinRow[];
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

function needsIdSet(filters: RecallFilters): boolean {
  return filters.tags.length > 0 || filters.source !== undefined;
}

/** Filters as SQL over `memes m` (keyword search and id sets). */
function memeWhere(filters: RecallFilters): { where: string; params: Params } {
  let where = '';
  const params: Params = [];
  for (const tag of filters.tags) {
    where += ' AND EXISTS (SELECT 1 FROM json_each(m.tags) t WHERE t.value = ?)';
    params.push(tag);
  }
  if (filters.category !== undefined) {
    where += ' AND m.category = ?';
    params.push(filters.category);
  }
  if (filters.animated !== undefined) {
    where += ' AND m.is_animated = ?';
    params.push(filters.animated ? 1 : 0);
  }
  if (filters.source !== undefined) {
    where += ' AND (m.source_type = ? OR EXISTS (SELECT 1 FROM meme_sources s WHERE s.meme_id = m.id AND s.source_type = ?))';
    params.push(filters.source, filters.source);
  }
  return { where, params };
}

/** Filters as vec0 constraints: metadata columns, plus an id set for what metadata cannot hold. */
function metadataWhere(filters: RecallFilters, ids?: readonly number[]): { where: string; params: Params } {
  let where = '';
  const params: Params = [];
  if (filters.category !== undefined) {
    where += ' AND category = ?';
    params.push(filters.category);
  }
  if (filters.animated !== undefined) {
    where += ' AND is_animated = CAST(? AS INTEGER)';
    params.push(filters.animated ? 1 : 0);
  }
  if (ids) {
    where += ' AND meme_id IN (SELECT value FROM json_each(?))';
    params.push(JSON.stringify(ids));
  }
  return { where, params };
}
