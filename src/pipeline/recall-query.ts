/**
 * Recall's query on the lexical side: planned and weighed by the library's
 * document frequencies (lexicon/query-plan.ts), and the lexical embedder's
 * query vector built from the same weighing.
 */
import { inverseDocumentFrequency, planQuery, weighQuery, type QueryPlan, type WeighedQuery } from '../lexicon/query-plan.js';
import type { Thesaurus } from '../lexicon/thesaurus.js';
import type { Embedder } from '../ports.js';
import type { CollectionInfo, RecallIndex, TermStatistics } from '../store/ports.js';
import { checkQueryVector } from './query-embedding.js';

export interface WeighedRecallQuery {
  plan: QueryPlan;
  stats?: TermStatistics;
  weighed: WeighedQuery;
}

/**
 * Plans and weighs the query. Without document frequencies (a literal query,
 * or the lookup failed) it searches the query's own terms only.
 */
export async function weighRecallQuery(
  deps: { index: Pick<RecallIndex, 'documentFrequencies'>; thesaurus?: () => Thesaurus },
  req: { query: string; literal?: boolean },
  fail: (err: unknown) => void,
): Promise<WeighedRecallQuery> {
  let plan = planQuery(req.query, undefined, true);
  if (req.literal) return { plan, weighed: weighQuery(plan) };
  try {
    plan = planQuery(req.query, deps.thesaurus?.());
    const stats = await deps.index.documentFrequencies(plan.lookup);
    return { plan, stats, weighed: weighQuery(plan, stats) };
  } catch (err) {
    fail(err);
    return { plan, weighed: weighQuery(plan) };
  }
}

/** The lexical embedder's query vector: IDF-weighed features plus the expansions the library holds. */
export function lexicalEmbedding(
  embedder: Embedder,
  { plan, weighed, stats }: WeighedRecallQuery,
  coll: CollectionInfo,
): Float32Array {
  const vector = embedder.embedLexicalQuery!({
    text: plan.query,
    // Cosine similarity mixes every feature into one score: a meme holding the word and a synonym
    // would outrank the meme holding just the word. Here a synonym only stands in for a query word
    // the library does not hold (the keyword side, which ranks the query's own words first, uses all).
    expansions: weighed.expansions.filter((e) => !e.wordHeld),
    idf: stats ? inverseDocumentFrequency(stats) : () => 1,
    holds: (term) => !stats || (stats.frequencies.get(term) ?? 0) > 0,
  });
  checkQueryVector(vector, coll);
  return vector;
}
