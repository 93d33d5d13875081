/**
 * When two memes are the same picture, and when copies of one meme. The one
 * place that holds the thresholds (measured on the sample images and their
 * variants, and on the real-memes fixture: see docs/dupes.md).
 *
 *   same picture  the picture zones' hashes (caption left out) are within
 *                 SAME_PICTURE_DISTANCE bits and their colour layouts within
 *                 SAME_COLOURS (ΔE of the worst cell: one template drawn on
 *                 pink and on blue is two pictures);
 *   duplicate     same picture, the whole frames within DUPLICATE_DISTANCE
 *                 bits, the same caption (caption.ts), and both animated or
 *                 both still: mergeable;
 *   variant       same picture otherwise (another caption): a template
 *                 variant, linked, never merged.
 *
 * SAME_PICTURE_DISTANCE is the banded index's guarantee (phash.ts): every
 * same-picture pair shares a band, so candidates are found without comparing
 * all pairs. A meme without hashes (not backfilled yet) is like no other.
 */
import { colourDistance } from '../images/colour-grid.js';
import { MAX_BANDED_DISTANCE, hammingDistance, type PictureHashes } from '../images/phash.js';
import { sameFoldedCaption } from './caption.js';

export const SAME_PICTURE_DISTANCE = MAX_BANDED_DISTANCE;
export const DUPLICATE_DISTANCE = 10;
export const SAME_COLOURS = 8;

export type PictureRelation = 'duplicate' | 'variant';

export interface PictureKey extends PictureHashes {
  /** The caption folded with foldCaption. */
  caption: string;
  /** An animated meme and a still of one of its frames are variants, never duplicates. */
  isAnimated: boolean;
}

export function samePicture(a: PictureHashes, b: PictureHashes): boolean {
  return hammingDistance(a.picture, b.picture) <= SAME_PICTURE_DISTANCE && colourDistance(a.colours, b.colours) <= SAME_COLOURS;
}

/** How two memes relate, or undefined when they are different pictures. */
export function pictureRelation(a: PictureKey, b: PictureKey): PictureRelation | undefined {
  if (!samePicture(a, b)) return undefined;
  const copies = a.isAnimated === b.isAnimated && hammingDistance(a.phash, b.phash) <= DUPLICATE_DISTANCE && sameFoldedCaption(a.caption, b.caption);
  return copies ? 'duplicate' : 'variant';
}
