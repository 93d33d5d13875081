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
 * that repeats a word ("冲冲冲") does not drown out the rest.
 */

const WORD_WEIGHT = 1;
const BIGRAM_WEIGHT = 1;
const CHAR_WEIGHT = 0.5;

/** One segmenter for the process: building one loads ICU dictionaries. */
const segmenter = new Intl.Segmenter('zh', { granularity: 'word' });

const HAN_RUN = /\p{Script=Han}+/gu;

/** Feature → weight (after sublinear term frequency). Empty for text with no words. */
export function lexicalFeatures(text: string): Map<string, number> {
  // NFKC folds full-width Latin and digits ("ｈｅｌｌｏ１２３") to ASCII.
  const normalised = text.normalize('NFKC').toLowerCase();
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
    const chars = [...run];
    chars.forEach((char, i) => {
      add(`c:${char}`, CHAR_WEIGHT);
      const next = chars[i + 1];
      if (next !== undefined) add(`b:${char}${next}`, BIGRAM_WEIGHT);
    });
  }

  const features = new Map<string, number>();
  for (const [feature, { weight, count }] of counts) {
    features.set(feature, weight * (1 + Math.log(count)));
  }
  return features;
}
