/**
 * The one way emomo folds text before splitting it into terms, shared by the
 * keyword index (store/fts-terms.ts), the lexical embedder and the thesaurus:
 * NFKC ("ｅｍｏ１２３" is "emo123"), lower case, and only the first
 * MAX_TERM_TEXT characters, so a 10 MB tag costs no more than a long caption.
 */

/** Characters of one text that are indexed, embedded or searched; captions and descriptions are far shorter. */
export const MAX_TERM_TEXT = 20_000;

/** The first `max` characters (code points, never a split surrogate pair), NFKC-folded and lower-cased. */
export function boundedText(text: string, max = MAX_TERM_TEXT): string {
  let head = text.length > 2 * max ? text.slice(0, 2 * max) : text;
  if (head.length > max) {
    let end = 0;
    for (let n = 0; n < max && end < head.length; n++) end += head.codePointAt(end)! > 0xffff ? 2 : 1;
    head = head.slice(0, end);
  }
  return head.normalize('NFKC').toLowerCase();
}
