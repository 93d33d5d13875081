/**
 * FTS5's unicode61 tokenizer treats a run of Chinese characters as one token,
 * so "开心" would never match "今天很开心". We index pre-segmented terms
 * instead: every CJK character and every CJK bigram becomes its own token,
 * Latin words and numbers stay whole (NFKC-folded, lower-cased). Queries are
 * segmented the same way, so a two-character word matches wherever it occurs.
 *
 * Text is folded and bounded by lexicon/fold.ts, and terms are produced one
 * at a time (no argument spreading, no recursion): a 10 MB tag or a
 * 100,000-character run of Han costs bounded time and memory.
 */
import type { Database } from 'better-sqlite3';
import { boundedText } from '../lexicon/fold.js';

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
// A CJK run, or a run of other letters and digits: "emo了" is "emo" + "了", not one CJK run.
const TOKEN =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+|(?:(?![\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}])[\p{L}\p{N}])+/gu;

/** A segment of text as the index sees it: a CJK run (as characters) or a Latin/number word. */
export type TextToken = { cjk: true; chars: string[] } | { cjk: false; word: string };

/** The tokens of a text, in order (bounded, folded). */
export function* textTokens(text: string): Generator<TextToken> {
  for (const [token] of boundedText(text).matchAll(TOKEN)) {
    yield CJK.test(token) ? { cjk: true, chars: Array.from(token) } : { cjk: false, word: token };
  }
}

/** Bigrams of a CJK run; a lone character stands for itself. */
export function runBigrams(chars: readonly string[]): string[] {
  if (chars.length === 1) return [chars[0]!];
  const bigrams: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) bigrams.push(chars[i]! + chars[i + 1]!);
  return bigrams;
}

/** Terms for the index: unigrams and bigrams of CJK runs, whole other words. */
export function indexTerms(text: string): string {
  const terms: string[] = [];
  for (const token of textTokens(text)) {
    if (!token.cjk) {
      terms.push(token.word);
      continue;
    }
    for (const char of token.chars) terms.push(char);
    if (token.chars.length > 1) for (const bigram of runBigrams(token.chars)) terms.push(bigram);
  }
  return terms.join(' ');
}

/** Terms of a query: bigrams of CJK runs (a lone character stays a unigram), whole other words. */
export function queryTerms(text: string): string[] {
  const terms = new Set<string>();
  for (const token of textTokens(text)) {
    if (token.cjk) for (const bigram of runBigrams(token.chars)) terms.add(bigram);
    else terms.add(token.word);
  }
  return [...terms];
}

/** Every distinct term the index could hold for a text (what document frequencies are asked for). */
export function distinctIndexTerms(text: string): string[] {
  return [...new Set(indexTerms(text).split(' ').filter(Boolean))];
}

const quote = (term: string) => `"${term.replaceAll('"', '""')}"`;

/**
 * A safe FTS5 MATCH expression for query terms: every term is a quoted string
 * (embedded quotes doubled), joined with OR so a document matching more terms
 * ranks higher under BM25. User input never reaches FTS5 as syntax: NEAR,
 * AND, column filters, `*` and `^` are plain text inside quotes. Undefined
 * when there is nothing to search for.
 */
export function matchExpression(terms: readonly string[]): string | undefined {
  const quoted = terms.filter((t) => t.length > 0).map(quote);
  return quoted.length > 0 ? quoted.join(' OR ') : undefined;
}

/**
 * A safe FTS5 expression matching the memes whose caption column holds the
 * text's index terms in a row: a superset, found from the index, of the
 * captions that are exactly the text (which a caller then compares).
 * Undefined when the text has no index term.
 */
export function captionPhraseExpression(text: string): string | undefined {
  const terms = indexTerms(text);
  return terms ? `ocr_text : ${quote(terms)}` : undefined;
}

/**
 * The terms a phrase must show, token by token: a CJK run as its bigrams in a
 * row (consecutive in the index), a Latin word whole. "无话可说" is one run
 * ["无话 话可 可说"]; "栓q" is two tokens ["栓", "q"].
 */
export function phraseTerms(phrase: string): string[][] {
  const tokens: string[][] = [];
  for (const token of textTokens(phrase)) tokens.push(token.cjk ? runBigrams(token.chars) : [token.word]);
  return tokens;
}

/**
 * A safe FTS5 expression matching any of the phrases (expansions): each
 * token of a phrase is an FTS5 phrase of its terms in a row, the tokens
 * joined with AND, the phrases with OR. Undefined when none has a term.
 */
export function phrasesExpression(phrases: readonly string[]): string | undefined {
  const parts: string[] = [];
  for (const phrase of phrases) {
    const tokens = phraseTerms(phrase).map((terms) => quote(terms.join(' ')));
    if (tokens.length === 1) parts.push(tokens[0]!);
    else if (tokens.length > 1) parts.push(`(${tokens.join(' AND ')})`);
  }
  return parts.length > 0 ? parts.join(' OR ') : undefined;
}

/** The set of terms in a document's indexed columns (its memes_fts row). */
export function indexedSet(indexed: readonly string[]): Set<string> {
  const present = new Set<string>();
  for (const column of indexed) for (const term of column.split(' ')) if (term) present.add(term);
  return present;
}

/** The query terms found among a document's indexed terms (its memes_fts columns). */
export function matchedTerms(terms: readonly string[], indexed: readonly string[] | Set<string>): string[] {
  const present = indexed instanceof Set ? indexed : indexedSet(indexed);
  return terms.filter((t) => present.has(t));
}

/** Whether a document's indexed terms hold every term of a phrase (order is not checked here). */
export function holdsPhrase(phrase: string, present: Set<string>): boolean {
  const tokens = phraseTerms(phrase);
  return tokens.length > 0 && tokens.every((terms) => terms.every((t) => present.has(t)));
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
