/**
 * Recall shows each meme once, not once per copy: a hit that is a duplicate
 * (pictures/similarity.ts: same picture, same caption) of a better-ranked hit
 * is folded into it and listed in its `duplicates`. Template variants (another
 * caption) stay separate hits. Memes without hashes are never folded.
 * Candidates are looked up by band, so a long list costs no all-pairs scan.
 */
import { phashBands } from '../images/phash.js';
import { foldCaption } from '../pictures/caption.js';
import { pictureRelation, type PictureKey } from '../pictures/similarity.js';
import type { PictureStore } from '../store/ports.js';
import type { Ranked } from './recall-hits.js';

export interface Collapsed extends Ranked {
  /** Ids of lower-ranked hits that are copies of this one. */
  duplicates: number[];
}

export async function collapseDuplicates(store: Pick<PictureStore, 'pictureFacts'>, ranked: readonly Ranked[]): Promise<Collapsed[]> {
  const facts = new Map((await store.pictureFacts(ranked.map((r) => r.memeId))).map((f) => [f.id, f]));
  const kept: Array<{ hit: Collapsed; key?: PictureKey }> = [];
  const buckets = new Map<string, number[]>();
  for (const r of ranked) {
    const f = facts.get(r.memeId);
    const key: PictureKey | undefined = f && { phash: f.phash, picture: f.picture, colours: f.colours, caption: foldCaption(f.caption), isAnimated: f.isAnimated };
    const bands = key ? phashBands(key.picture).map((v, i) => `${i}:${v}`) : [];
    const candidates = new Set(bands.flatMap((b) => buckets.get(b) ?? []));
    const original = [...candidates].sort((a, b) => a - b).find((i) => pictureRelation(kept[i]!.key!, key!) === 'duplicate');
    if (original !== undefined) {
      kept[original]!.hit.duplicates.push(r.memeId);
      continue;
    }
    for (const b of bands) buckets.set(b, [...(buckets.get(b) ?? []), kept.length]);
    kept.push({ hit: { ...r, duplicates: [] }, ...(key ? { key } : {}) });
  }
  return kept.map((k) => k.hit);
}
