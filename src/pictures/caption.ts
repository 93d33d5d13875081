/**
 * Whether two memes say the same thing: their captions as read by OCR (or a
 * VLM's `ocr_text`), compared after folding away what reading and sharing
 * change. Two copies of one meme read slightly differently: a re-encode adds
 * a stray "00", a sharing site stamps "@meme.cc" in a corner, a character is
 * misread. A template variant says something else entirely.
 *
 * Folding: NFKC and lower case; watermark tokens (@handles, domain names)
 * left out; lines of at most two ASCII letters or digits (specks read as
 * text) left out; then only letters and digits are kept. Two folded captions
 * are the same when equal, or when both have at least MIN_FUZZY characters
 * and differ in at most one character in FUZZY_SPAN (OCR slips).
 */
import { editDistance } from '../lexicon/edit-distance.js';
import { boundedText } from '../lexicon/fold.js';

const HANDLE = /@[\p{L}\p{N}._-]+/gu;
const DOMAIN = /[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.(?:com|cn|cc|co|net|org|me|tv|io|top|xyz|info|vip)\b(?:\/\S*)?/giu;
const SPECK = /^[a-z0-9]{1,2}$/;
const NOT_TEXT = /[^\p{L}\p{N}]/gu;
const MAX_CAPTION = 2_000;
const MIN_FUZZY = 4;
const FUZZY_SPAN = 5;

/** The caption as compared: see the header. */
export function foldCaption(text: string): string {
  return boundedText(text, MAX_CAPTION)
    .replace(HANDLE, ' ')
    .replace(DOMAIN, ' ')
    .split('\n')
    .map((line) => line.replace(NOT_TEXT, ''))
    .filter((line) => line.length > 0 && !SPECK.test(line))
    .join('');
}

/** Same caption, for captions already folded with foldCaption. */
export function sameFoldedCaption(a: string, b: string): boolean {
  if (a === b) return true;
  const shorter = Math.min([...a].length, [...b].length);
  if (shorter < MIN_FUZZY) return false;
  const longer = Math.max([...a].length, [...b].length);
  return editDistance(a, b) <= Math.floor(longer / FUZZY_SPAN);
}

export function sameCaption(a: string, b: string): boolean {
  return sameFoldedCaption(foldCaption(a), foldCaption(b));
}
