/**
 * Tokenisation for the local lexical embedder: turns a text into weighted
 * features. Pure and deterministic, so it can be tested without the embedder.
 *
 * Three kinds of feature, each keyed with a prefix so they never collide:
 *   w:<word>  word-like segments from Intl.Segmenter('zh'), lower-cased
 *             (Chinese words, Latin words, numbers);
 *   b:<xy>    character bigrams of every run of Han characters, which catch
 *             shared words the segmenter split differently ("太难" in both
 *             "我太难了" and "太难了吧");
 *   c:<x>     single Han characters, at a lower weight, as a last resort for
 *             one-character overlaps.
 * Repeated features get a sublinear term frequency (1 + ln tf), so a caption
 * that repeats a word ("冲冲冲") does not drown out the rest. Text is folded
 * and bounded (lexicon/fold.ts) first, so a huge text costs bounded memory.
 *
 * Documents are embedded from these features as they are: nothing about the
 * library is baked into a stored vector. Queries are weighed at search time
 * (`queryFeatures`): each feature by the inverse document frequency of the
 * index term it corresponds to, and the query's expansions at their weight.
 */
import type { LexicalQuery } from '../../ports.js';
import { boundedText } from '../../lexicon/fold.js';
import { queryTerms } from '../../store/fts-terms.js';

const WORD_WEIGHT = 1;
const BIGRAM_WEIGHT = 1;
const CHAR_WEIGHT = 0.5;

/** One segmenter for the process: building one loads ICU dictionaries. */
const segmenter = new Intl.Segmenter('zh', { granularity: 'word' });

const HAN_RUN = /\p{Script=Han}+/gu;

/** Feature → weight (after sublinear term frequency). Empty for text with no words. */
export function lexicalFeatures(text: string): Map<string, number> {
  const normalised = boundedText(text);
  const counts = new Map<string, { weight: number; count: number }>();
  const add = (feature: string, weight: number): void => {
    const seen = counts.get(feature);
    if (seen) seen.count += 1;
    else counts.set(feature, { weight, count: 1 });
  };

  for (const { segment, isWordLike } of segmenter.segment(normalised)) {
    if (isWordLike) add(`w:${segment}`, WORD_WEIGHT);
  }

  for (const [run] of normalised.matchAll(HAN_RUN)) {
    const chars = Array.from(run);
    for (let i = 0; i < chars.length; i++) {
      add(`c:${chars[i]}`, CHAR_WEIGHT);
      if (i + 1 < chars.length) add(`b:${chars[i]}${chars[i + 1]}`, BIGRAM_WEIGHT);
    }
  }

  const features = new Map<string, number>();
  for (const [feature, { weight, count }] of counts) {
    features.set(feature, weight * (1 + Math.log(count)));
  }
  return features;
}

/**
 * A query's features, weighed: each of the query's own by the IDF of its
 * index term. An expansion stands in for a word of the query, so as a whole
 * it weighs its `weight` of that word: its features are scaled so that their
 * length (L2, IDF-weighed) is `weight` times the word's. A feature of a term
 * no meme holds weighs nothing. Where the query and an expansion share a
 * feature, the larger weight counts.
 */
export function queryFeatures(query: LexicalQuery): Map<string, number> {
  const weighed = new Map<string, number>();
  const put = (features: Map<string, number>, scale: number) => {
    for (const [feature, weight] of features) {
      const w = featureTerms(feature).every((t) => query.holds(t)) ? weight * scale : 0;
      if (w > (weighed.get(feature) ?? 0)) weighed.set(feature, w);
    }
  };
  put(idfWeighed(query.text, query.idf), 1);
  for (const e of query.expansions) {
    const features = idfWeighed(e.term, query.idf);
    const length = norm(features);
    if (length > 0) put(features, (e.weight * norm(idfWeighed(e.for, query.idf))) / length);
  }
  return weighed;
}

/** Features weighed by IDF; a word by its rarest index term (a meme holding the word holds each of them). */
function idfWeighed(text: string, idf: (term: string) => number): Map<string, number> {
  const features = lexicalFeatures(text);
  for (const [feature, weight] of features) {
    features.set(feature, weight * Math.max(0, ...featureTerms(feature).map(idf)));
  }
  return features;
}

const norm = (features: Map<string, number>) => Math.sqrt([...features.values()].reduce((sum, w) => sum + w * w, 0));

/** The index terms (store/fts-terms.ts) of a feature: itself for bigrams and characters, a word's terms. */
function featureTerms(feature: string): string[] {
  const body = feature.slice(2);
  return feature.startsWith('w:') ? queryTerms(body) : [body];
}
