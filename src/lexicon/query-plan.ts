/**
 * What a query searches for on the lexical side, and how much each part
 * weighs. Pure: the library's document frequencies come in as values.
 *
 *   query       the query's own terms (CJK bigrams, a lone character, Latin
 *               words and numbers), weight 1;
 *   characters  single characters of the query that no query bigram known
 *               to the library covers ("饿" in 我好饿 when no meme says 好饿),
 *               weight CHARACTER_WEIGHT; a character in more than
 *               CHARACTER_MAX_SHARE of the library says nothing and is left out;
 *   expansions  words of the same meaning (thesaurus.ts), only those the
 *               library holds, weight EXPANSION_WEIGHT of the query word they
 *               stand for (never more, however rare the expansion); a
 *               one-term expansion in half the library or more, which
 *               BM25 gives no weight, is not searched.
 * BM25 gives every term its inverse document frequency on the keyword side;
 * `inverseDocumentFrequency` gives the same weighting to the lexical vector.
 * A literal plan (recall --literal) is the query's own terms alone, as
 * recall searched before characters, expansions and IDF existed.
 */
import { distinctIndexTerms, phraseTerms, queryTerms, textTokens } from '../store/fts-terms.js';
import type { KeywordQuery, TermStatistics } from '../store/ports.js';
import type { Expansion, Thesaurus } from './thesaurus.js';

export const CHARACTER_WEIGHT = 0.3;
export const EXPANSION_WEIGHT = 0.5;
/**
 * A character held by more than this share of the library (or more than
 * CHARACTER_MAX_DOCS memes: BM25 scores every match) is too common to search
 * alone; one held by CHARACTER_MIN_CAP memes or fewer never is.
 */
export const CHARACTER_MAX_SHARE = 0.05;
export const CHARACTER_MAX_DOCS = 500;
export const CHARACTER_MIN_CAP = 2;
/** Backoff characters searched at most, rarest first. */
export const MAX_CHARACTERS = 4;
/** Query words whose expansions are searched at most (one keyword search each), in query order. */
export const MAX_EXPANDED_WORDS = 4;

export interface QueryPlan {
  query: string;
  literal: boolean;
  /** The query's own terms. */
  terms: string[];
  /** Words of the same meaning, before the library is consulted. */
  expansions: Expansion[];
  /** Index terms whose document frequencies the weighting needs (none for a literal plan). */
  lookup: string[];
}

export type KeywordTierKind = 'query' | 'characters' | 'expansions';

/** One keyword search of a query: what it looks for and the weight of its BM25 score. */
export interface KeywordTier {
  kind: KeywordTierKind;
  query: KeywordQuery;
  weight: number;
}

/** The weighted lexical query, once the library's document frequencies are known. */
export interface WeighedQuery {
  tiers: KeywordTier[];
  /** Backoff characters searched. */
  characters: string[];
  /**
   * Expansions the library holds, each with its weight (a share of the query
   * word it stands for) and whether the library holds that word itself.
   */
  expansions: Array<Expansion & { weight: number; wordHeld: boolean }>;
}

export function planQuery(query: string, thesaurus: Thesaurus | undefined, literal = false): QueryPlan {
  const terms = queryTerms(query);
  if (literal) return { query, literal, terms, expansions: [], lookup: [] };
  const expansions = thesaurus?.expand(query) ?? [];
  const lookup = new Set(distinctIndexTerms(query));
  for (const e of expansions) for (const t of distinctIndexTerms(e.term)) lookup.add(t);
  return { query, literal, terms, expansions, lookup: [...lookup] };
}

export function weighQuery(plan: QueryPlan, stats?: TermStatistics): WeighedQuery {
  const tiers: KeywordTier[] = plan.terms.length > 0 ? [{ kind: 'query', query: { text: plan.query }, weight: 1 }] : [];
  if (plan.literal || !stats) return { tiers, characters: [], expansions: [] };

  const df = (term: string) => stats.frequencies.get(term) ?? 0;
  const maxFrequency = Math.max(CHARACTER_MIN_CAP, Math.min(stats.documents * CHARACTER_MAX_SHARE, CHARACTER_MAX_DOCS));
  const characters = backoffCharacters(plan.query, df, maxFrequency);
  if (characters.length > 0) tiers.push({ kind: 'characters', query: { terms: characters }, weight: CHARACTER_WEIGHT });

  // One tier per expanded query word. An expansion stands in for that word, so it may never
  // weigh more than EXPANSION_WEIGHT of it: when the expansions are rarer than the word
  // (higher IDF), the tier's weight shrinks by the ratio of their IDFs.
  const idf = inverseDocumentFrequency(stats);
  const held = plan.expansions.filter(
    (e) => phraseTerms(e.term).every((terms) => terms.every((t) => df(t) > 0)) && !weightless(e.term, df, stats.documents),
  );
  const expansions: WeighedQuery['expansions'] = [];
  for (const word of [...new Set(held.map((e) => e.for))].slice(0, MAX_EXPANDED_WORDS)) {
    const group = held.filter((e) => e.for === word);
    const weight = EXPANSION_WEIGHT * Math.min(1, wordIdf(word, idf) / Math.max(...group.map((e) => wordIdf(e.term, idf))));
    tiers.push({ kind: 'expansions', query: { phrases: group.map((e) => e.term) }, weight });
    const wordHeld = queryTerms(word).every((t) => df(t) > 0);
    for (const e of group) expansions.push({ ...e, weight, wordHeld });
  }
  return { tiers, characters, expansions };
}

/**
 * Whether an expansion is a single index term held by half the library or
 * more. FTS5's BM25 gives such a term no weight (its IDF there,
 * ln((N − n + 0.5) / (n + 0.5)), is ≤ 0 and clamped to 1e-6), so searching it
 * would add nothing to any score and cost a BM25 pass over most of the library.
 */
function weightless(expansion: string, df: (term: string) => number, documents: number): boolean {
  const terms = phraseTerms(expansion).flat();
  return terms.length === 1 && 2 * df(terms[0]!) >= documents;
}

/**
 * Characters of the query's CJK runs that neither neighbouring bigram covers
 * (the bigram is unknown to the library), known to the library themselves
 * and not too common; rarest first, at most MAX_CHARACTERS.
 */
export function backoffCharacters(query: string, df: (term: string) => number, maxFrequency: number): string[] {
  const found = new Map<string, number>();
  for (const token of textTokens(query)) {
    if (!token.cjk || token.chars.length < 2) continue; // a lone character is already a query term
    const { chars } = token;
    chars.forEach((char, i) => {
      const covered = (i > 0 && df(chars[i - 1]! + char) > 0) || (i + 1 < chars.length && df(char + chars[i + 1]!) > 0);
      const n = df(char);
      if (!covered && n > 0 && n <= maxFrequency) found.set(char, n);
    });
  }
  return [...found].sort((a, b) => a[1] - b[1]).slice(0, MAX_CHARACTERS).map(([char]) => char);
}

/**
 * Inverse document frequency of an index term, BM25's form (always > 0):
 * ln(1 + (N − df + 0.5) / (df + 0.5)); a term no meme holds gets the highest.
 */
export function inverseDocumentFrequency(stats: TermStatistics): (term: string) => number {
  const n = stats.documents;
  return (term) => {
    const df = Math.min(stats.frequencies.get(term) ?? 0, n);
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  };
}

/** A word is at least as rare as its rarest index term (a meme holding the word holds each of them). */
export function wordIdf(word: string, idf: (term: string) => number): number {
  let best = 0;
  for (const term of queryTerms(word)) best = Math.max(best, idf(term));
  return best;
}
