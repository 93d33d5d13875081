/**
 * Keyword recall on SQLite: BM25 over memes_fts (columns weighted caption,
 * tags, description), exact captions first, filters joined from memes only
 * when asked; and the document frequencies the query weighting needs.
 */
import type { KeywordHit, KeywordQuery, RecallFilters, TermStatistics } from '../ports.js';
import { captionPhraseExpression, indexTerms, matchExpression, phrasesExpression, queryTerms } from '../fts-terms.js';
import { contentMark } from './browse-queries.js';
import type { Db } from './database.js';
import { memeWhere } from './meme-filters.js';
import { Statements } from './statements.js';

/** FTS5 column weights: the caption is what people remember, then tags, then the description. */
const BM25 = 'bm25(memes_fts, 4.0, 1.0, 2.0)';
/** Document frequencies kept at most before the set starts afresh (a few MB). */
const MAX_COUNTED_TERMS = 50_000;

interface TermCounts {
  /** contentMark when counted; undefined: not to be kept. */
  mark: string | undefined;
  documents: number;
  frequencies: Map<string, number>;
}

/** The keyword queries on one connection (synchronous; SqliteStore exposes them through the async port). */
export class SqliteKeywordQueries {
  private readonly statements: Statements;
  private counts: TermCounts | undefined;

  constructor(private readonly db: Db) {
    this.statements = new Statements(db);
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
    return this.statements.get('SELECT f.rowid FROM memes_fts f WHERE memes_fts MATCH ? AND f.ocr_text = ?')
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
    return this.statements.get(
      `SELECT f.rowid AS memeId, -${BM25} AS bm25 FROM ${from}
       WHERE memes_fts MATCH ?${within}${where} ORDER BY ${BM25}, f.rowid LIMIT ?`,
    ).all(match, ...(among ? [JSON.stringify(among)] : []), ...params, k) as Array<{ memeId: number; bm25: number }>;
  }

  /**
   * fts5vocab counts a term's documents from its doclist (the cost grows with
   * the count: a common term costs a millisecond at 100,000 memes), and the
   * docsize shadow table has one small row per indexed meme. Counts are kept
   * until the library's content changes (contentMark: any commit, from any
   * connection), so a server asked about the same words over and over counts
   * them once, and they stay exact as memes come and go.
   */
  documentFrequencies(terms: readonly string[]): TermStatistics {
    const counted = this.termCounts();
    const missing = [...new Set(terms)].filter((t) => !counted.frequencies.has(t));
    if (missing.length > 0) {
      const rows = this.statements.get('SELECT term, doc FROM memes_fts_vocab WHERE term IN (SELECT value FROM json_each(?))').all(
        JSON.stringify(missing),
      ) as Array<{ term: string; doc: number }>;
      for (const t of missing) counted.frequencies.set(t, 0);
      for (const r of rows) counted.frequencies.set(r.term, r.doc);
    }
    const frequencies = new Map<string, number>();
    for (const t of terms) if (counted.frequencies.get(t)! > 0) frequencies.set(t, counted.frequencies.get(t)!);
    return { documents: counted.documents, frequencies };
  }

  /** The term counts still valid (a fresh set after a change, or inside a transaction, which may yet roll back). */
  private termCounts(): TermCounts {
    const mark = this.db.inTransaction ? undefined : contentMark(this.db);
    if (mark === undefined || mark !== this.counts?.mark || this.counts.frequencies.size > MAX_COUNTED_TERMS) {
      const documents = this.statements.get('SELECT count(*) FROM memes_fts_docsize').pluck().get() as number;
      this.counts = { mark, documents, frequencies: new Map() };
    }
    return this.counts;
  }
}
