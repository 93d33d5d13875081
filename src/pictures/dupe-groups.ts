/**
 * What one group of same-picture memes holds: duplicate groups (copies of
 * one meme: same picture, same caption) with the copy to keep and why, and,
 * when the group shows the picture with more than one caption, one template
 * group of its variants. Pure.
 *
 * Each duplicate group is built around its keeper, best copy first
 * (keeper.ts): a copy joins only when it is a duplicate of the keeper itself
 * (similarity.ts), never through a chain of near neighbours, so a merge
 * never removes a picture the keeper does not really show.
 */
import { hammingDistance } from '../images/phash.js';
import type { PictureFacts } from '../store/ports.js';
import { foldCaption } from './caption.js';
import { compareKeepers, keeperReason } from './keeper.js';
import { pictureRelation, type PictureKey } from './similarity.js';

export interface DuplicateCopy extends PictureFacts {
  /** Bits between its whole-frame hash and the keeper's. */
  distance: number;
}

export interface DuplicateGroup {
  kept: PictureFacts;
  /** Why this copy is the one kept (keeper.ts). */
  reason: string;
  copies: DuplicateCopy[];
}

export interface VariantGroup {
  /** One meme per caption: each duplicate group's keeper, and memes with no copies. The first is the template. */
  members: PictureFacts[];
}

export interface ComponentGroups {
  duplicates: DuplicateGroup[];
  variants?: VariantGroup;
}

const keyOf = (m: PictureFacts): PictureKey => ({ phash: m.phash, picture: m.picture, colours: m.colours, caption: foldCaption(m.caption), isAnimated: m.isAnimated });

export function groupComponent(members: readonly PictureFacts[]): ComponentGroups {
  const remaining = [...members].sort(compareKeepers).map((m) => ({ meme: m, key: keyOf(m) }));
  const duplicates: DuplicateGroup[] = [];
  const representatives: PictureFacts[] = [];
  while (remaining.length > 0) {
    const kept = remaining.shift()!;
    const copies: DuplicateCopy[] = [];
    for (let i = 0; i < remaining.length; i++) {
      if (pictureRelation(kept.key, remaining[i]!.key) !== 'duplicate') continue;
      const copy = remaining.splice(i--, 1)[0]!.meme;
      copies.push({ ...copy, distance: hammingDistance(kept.meme.phash, copy.phash) });
    }
    representatives.push(kept.meme);
    if (copies.length > 0) duplicates.push({ kept: kept.meme, reason: keeperReason(kept.meme, copies), copies });
  }
  return representatives.length > 1 ? { duplicates, variants: { members: representatives } } : { duplicates };
}
