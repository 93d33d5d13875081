/**
 * RecallIndex on PostgreSQL. Vector search goes through the collection's
 * HNSW index (cosine, over half vectors): the index yields the nearest
 * candidates passing every filter (iterative index scans keep it going past
 * `ef_search` until enough pass), and those are rescored exactly on their
 * float32 vectors. Small collections, `exact` requests and a filtered search
 * the index could not fill are answered by an exact scan. Keywords are the
 * same pre-segmented terms as SQLite's FTS5 index in a weighted `simple`
 * tsvector (meme_keywords), so a two-character word matches inside a caption.
 * Filters are conditions on `memes` (tags as jsonb containment under GIN).
 */
import { indexTerms, phraseTerms, queryTerms } from '../fts-terms.js';
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
import { vectorParam, type Sql } from './sql.js';
import { findCollection, halfvecExpr, hasHnswIndex, type PgCollection } from './vector-tables.js';

/**
 * Session settings of every connection (connection.ts): candidates the HNSW
 * search keeps per query (recall@10 ≥ 0.95 at 100,000 × 1024-d, see
 * BENCHMARKS.md), iterative scans so a filter rejecting most candidates still
 * fills the top-k (relaxed order: the candidates are re-sorted exactly), and
 * no JIT: compiling a plan (100–400 ms) costs more than any query emomo runs.
 */
export const RECALL_SESSION_SETTINGS = { 'hnsw.ef_search': 100, 'hnsw.iterative_scan': 'relaxed_order', jit: 'off' };

/** Below this many vectors an exact scan is fast enough (and exact). */
export const EXACT_BELOW = 10_000;
/** Candidates taken from the index per unfiltered query, rescored on float32 (at least k). */
const CANDIDATES = 40;
/** Above this many vectors the planner's estimate stands in for an exact count. */
const ESTIMATE_ABOVE = 50_000;
/** ts_rank weights {D, C, B, A}: caption (A) first, then tags (B), then description (C), like the FTS5 BM25 weights. */
const RANK = `ts_rank('{0.1, 0.25, 0.5, 1.0}', k.terms, q, 1)`;

/** A collection as this adapter searches it. */
export interface PgSearchCollection extends PgCollection {
  size: number;
}

export async function collectionInfo(sql: Sql, name: string): Promise<PgSearchCollection | undefined> {
  const coll = await findCollection(sql, name);
  if (!coll) return undefined;
  const { rows } = await sql.query<{ estimate: number }>(`SELECT reltuples AS estimate FROM pg_class WHERE oid = $1::regclass`, [`"${coll.vec_table}"`]);
  let size = Math.round(rows[0]?.estimate ?? -1);
  if (size < ESTIMATE_ABOVE) size = (await sql.query<{ n: number }>(`SELECT count(*) AS n FROM "${coll.vec_table}"`)).rows[0]!.n;
  return { ...coll, size };
}

export function toCollectionInfo(coll: PgSearchCollection): CollectionInfo {
  return { name: coll.name, dims: coll.dims, model: coll.model, size: coll.size };
}

export async function vectorSearch(
  sql: Sql,
  coll: PgSearchCollection,
  vector: Float32Array,
  k: number,
  filters: RecallFilters,
  options: { exact?: boolean } = {},
): Promise<VectorSearchResult> {
  if (vector.length !== coll.dims) throw new Error(`query vector has ${vector.length} dimensions, collection "${coll.name}" holds ${coll.dims}`);
  const params: unknown[] = [vectorParam(vector)];
  const where = memeWhere(filters, params);
  const from = `"${coll.vec_table}" v${where ? ` JOIN memes m ON m.id = v.meme_id WHERE true${where}` : ''}`;
  const useIndex = !options.exact && hasHnswIndex(coll) && coll.size >= EXACT_BELOW;
  if (useIndex) {
    // Unfiltered, the index yields `ef_search` candidates in one pass and rescoring 40 is cheap; filtered,
    // every extra candidate costs an iterative scan over the rows the filter rejects, so only k are taken.
    const candidates = where ? k : Math.max(k, CANDIDATES);
    const { rows } = await sql.query<VectorHit>(
      `SELECT c.meme_id AS "memeId", c.embedding <=> $1::vector AS distance FROM (
         SELECT v.meme_id, v.embedding FROM ${from}
         ORDER BY ${halfvecExpr(coll, 'v.embedding')} <=> $1::vector::halfvec(${coll.dims}) LIMIT ${candidates}) c
       ORDER BY distance, c.meme_id LIMIT ${k}`,
      params,
    );
    // Fewer than k: the index gave up before k passed the filter, or fewer than k match; the exact scan tells which.
    if (rows.length === k) return { hits: rows, method: 'hnsw', candidates };
  }
  const { rows } = await sql.query<VectorHit>(
    `SELECT v.meme_id AS "memeId", v.embedding <=> $1::vector AS distance FROM ${from} ORDER BY distance, v.meme_id LIMIT ${k}`,
    params,
  );
  return { hits: rows, method: 'exact', candidates: coll.size };
}

/** A term as a quoted tsquery lexeme: user input never reaches tsquery as syntax. */
const lexeme = (term: string) => `'${term.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;

/** Any of the terms. */
const anyOf = (terms: readonly string[]) => terms.filter((t) => t.length > 0).map(lexeme).join(' | ');

/**
 * Any of the phrases, each token of a phrase its terms in a row (`<->`: the
 * index holds a CJK run's bigrams at consecutive positions), the tokens of a
 * phrase all required: the FTS5 expression of fts-terms.ts `phrasesExpression`.
 */
function anyPhrase(phrases: readonly string[]): string {
  const parts: string[] = [];
  for (const phrase of phrases) {
    const tokens = phraseTerms(phrase).map((terms) => `(${terms.map(lexeme).join(' <-> ')})`);
    if (tokens.length > 0) parts.push(`(${tokens.join(' & ')})`);
  }
  return parts.join(' | ');
}

export async function keywordSearch(sql: Sql, query: KeywordQuery, k: number, filters: RecallFilters): Promise<KeywordHit[]> {
  const tsquery = 'text' in query ? anyOf(queryTerms(query.text)) : 'terms' in query ? anyOf(query.terms) : anyPhrase(query.phrases);
  if (!tsquery) return [];
  // Only a text query marks a caption that is exactly it.
  const params: unknown[] = [tsquery, 'text' in query ? indexTerms(query.text) : null];
  const where = memeWhere(filters, params);
  params.push(k);
  // A caption that is exactly the query (same indexed terms) ranks first: the user typed it.
  const { rows } = await sql.query<{ memeId: number; bm25: number; exact: boolean }>(
    `SELECT k.meme_id AS "memeId", ${RANK} AS bm25, coalesce(k.ocr_text = $2, false) AS exact
     FROM meme_keywords k JOIN memes m ON m.id = k.meme_id, to_tsquery('simple', $1) q
     WHERE k.terms @@ q${where}
     ORDER BY exact DESC, bm25 DESC, k.meme_id LIMIT $${params.length}`,
    params,
  );
  return rows.map((r) => ({ memeId: r.memeId, bm25: r.bm25, exact: r.exact }));
}

/** Memes holding each term (through the GIN index: the cost grows with the count), and the memes indexed. */
export async function documentFrequencies(sql: Sql, terms: readonly string[]): Promise<TermStatistics> {
  const distinct = [...new Set(terms)].filter((t) => t.length > 0);
  const { rows } = await sql.query<{ term: string | null; doc: number }>(
    `SELECT NULL AS term, count(*) AS doc FROM meme_keywords
     UNION ALL
     SELECT t.term, (SELECT count(*) FROM meme_keywords k WHERE k.terms @@ to_tsquery('simple', t.q)) AS doc
     FROM unnest($1::text[], $2::text[]) AS t (term, q)`,
    [distinct, distinct.map(lexeme)],
  );
  const frequencies = new Map<string, number>();
  let documents = 0;
  for (const r of rows) {
    if (r.term === null) documents = r.doc;
    else if (r.doc > 0) frequencies.set(r.term, r.doc);
  }
  return { documents, frequencies };
}

/** The categories and sources present (for a hint when a filter matches nothing). */
export async function filterValues(sql: Sql): Promise<{ categories: string[]; sources: string[] }> {
  const column = async (text: string) => (await sql.query<{ v: string }>(text)).rows.map((r) => r.v);
  return {
    categories: await column('SELECT DISTINCT category AS v FROM memes ORDER BY v'),
    sources: await column('SELECT DISTINCT source_type AS v FROM meme_sources ORDER BY v'),
  };
}

interface MemeJoinRow {
  id: number;
  md5: string;
  storage_key: string;
  category: string;
  tags: string[];
  is_animated: boolean;
  source_type: string;
  description: string | null;
  ocr_text: string | null;
  t_ocr: string | null;
  t_desc: string | null;
  t_tags: string | null;
}

export async function recalledMemes(sql: Sql, ids: readonly number[]): Promise<Map<number, RecalledMeme>> {
  const { rows } = await sql.query<MemeJoinRow>(
    `SELECT m.id, m.md5, m.storage_key, m.category, m.tags, m.is_animated, m.source_type,
            d.description, d.ocr_text, k.ocr_text AS t_ocr, k.description AS t_desc, k.tags AS t_tags
     FROM memes m
     LEFT JOIN meme_keywords k ON k.meme_id = m.id
     LEFT JOIN LATERAL (SELECT description, ocr_text FROM meme_descriptions d WHERE d.md5 = m.md5
                        ORDER BY d.created_at DESC, d.id DESC LIMIT 1) d ON true
     WHERE m.id = ANY($1::bigint[])`,
    [[...ids]],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        md5: r.md5,
        storageKey: r.storage_key,
        category: r.category,
        tags: r.tags,
        isAnimated: r.is_animated,
        sourceType: r.source_type,
        description: r.description ?? '',
        ocrText: r.ocr_text ?? '',
        indexedTerms: [r.t_ocr ?? '', r.t_desc ?? '', r.t_tags ?? ''],
      },
    ]),
  );
}

/** Every filter as a condition on `memes m`, its values appended to `params`. */
function memeWhere(filters: RecallFilters, params: unknown[]): string {
  const add = (value: unknown) => `$${params.push(value)}`;
  let where = '';
  if (filters.tags.length > 0) where += ` AND m.tags @> ${add(JSON.stringify(filters.tags))}::jsonb`;
  if (filters.category !== undefined) where += ` AND m.category = ${add(filters.category)}`;
  if (filters.animated !== undefined) where += ` AND m.is_animated = ${add(filters.animated)}`;
  if (filters.source !== undefined) {
    const source = add(filters.source);
    where += ` AND (m.source_type = ${source} OR EXISTS (SELECT 1 FROM meme_sources s WHERE s.meme_id = m.id AND s.source_type = ${source}))`;
  }
  return where;
}
