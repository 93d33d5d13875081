/**
 * FTS5's unicode61 tokenizer treats a run of Chinese characters as one token,
 * so "开心" would never match "今天很开心". We index pre-segmented terms
 * instead: every CJK character and every CJK bigram becomes its own token,
 * Latin words and numbers stay whole (lower-cased). Queries are segmented the
 * same way, so a two-character word matches wherever it occurs.
 */
import type { Database } from 'better-sqlite3';

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
// A CJK run, or a run of other letters and digits: "emo了" is "emo" + "了", not one CJK run.
const TOKEN =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+|(?:(?![\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}])[\p{L}\p{N}])+/gu;

function cjkTerms(run: string, unigrams: boolean): string[] {
  const chars = [...run];
  const terms: string[] = [];
  if (unigrams || chars.length === 1) terms.push(...chars);
  for (let i = 0; i + 1 < chars.length; i++) terms.push(chars[i]! + chars[i + 1]!);
  return terms;
}

/** Terms for the index: unigrams and bigrams of CJK runs, whole other words. */
export function indexTerms(text: string): string {
  const terms: string[] = [];
  for (const [token] of text.matchAll(TOKEN)) {
    if (CJK.test(token)) terms.push(...cjkTerms(token, true));
    else terms.push(token.toLowerCase());
  }
  return terms.join(' ');
}

/** Terms of a query: bigrams of CJK runs (a lone character stays a unigram). */
export function queryTerms(text: string): string[] {
  const terms: string[] = [];
  for (const [token] of text.matchAll(TOKEN)) {
    if (CJK.test(token)) terms.push(...cjkTerms(token, false));
    else terms.push(token.toLowerCase());
  }
  return [...new Set(terms)];
}

/**
 * A safe FTS5 MATCH expression for query terms: every term is a quoted string
 * (embedded quotes doubled), joined with OR so a document matching more terms
 * ranks higher under BM25. User input never reaches FTS5 as syntax: NEAR,
 * AND, column filters, `*` and `^` are plain text inside quotes. Undefined
 * when there is nothing to search for.
 */
export function matchExpression(terms: readonly string[]): string | undefined {
  const quoted = terms.filter((t) => t.length > 0).map((t) => `"${t.replaceAll('"', '""')}"`);
  return quoted.length > 0 ? quoted.join(' OR ') : undefined;
}

/** The query terms found among a document's indexed terms (its memes_fts columns). */
export function matchedTerms(terms: readonly string[], indexed: readonly string[]): string[] {
  const present = new Set(indexed.flatMap((column) => column.split(' ')));
  return terms.filter((t) => present.has(t));
}

/** Rebuilds memes_fts from each meme's newest description and its tags (after a segmentation change). */
export function reindexKeywords(db: Database): void {
  const rows = db
    .prepare(
      `SELECT m.id, m.tags, d.ocr_text, d.description FROM memes m
       JOIN memes_fts f ON f.rowid = m.id
       JOIN meme_descriptions d ON d.rowid = (
         SELECT rowid FROM meme_descriptions WHERE md5 = m.md5 ORDER BY created_at DESC, rowid DESC LIMIT 1)`,
    )
    .all() as Array<{ id: number; tags: string; ocr_text: string; description: string }>;
  const remove = db.prepare('DELETE FROM memes_fts WHERE rowid = ?');
  const insert = db.prepare('INSERT INTO memes_fts (rowid, ocr_text, description, tags) VALUES (?, ?, ?, ?)');
  for (const r of rows) {
    remove.run(r.id);
    insert.run(r.id, indexTerms(r.ocr_text), indexTerms(r.description), indexTerms((JSON.parse(r.tags) as string[]).join(' ')));
  }
}
