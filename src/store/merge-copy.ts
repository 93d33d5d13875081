/**
 * What both adapters decide the same way when they merge a duplicate group
 * (PictureStore.mergeDuplicates): whether a copy may go, re-checked inside
 * the merge's transaction, and how its tags fold into the keeper's.
 */
import type { MergeOutcome } from './ports.js';

/** Why a copy is left as it is (undefined: merge it). `row` is the copy's meme as it is now, if it still exists. */
export function copySkipReason(copy: { md5: string }, row: { md5: string } | undefined, keeperMd5: string, claimed: boolean): string | undefined {
  if (!row || row.md5 !== copy.md5) return 'gone or changed since it was grouped';
  if (row.md5 === keeperMd5) return 'the same image as the meme kept';
  if (claimed) return 'claimed by a running ingest; the next dupes --merge takes it';
  return undefined;
}

/** Adds the copy's tags the keeper lacks to `keeperTags` (in place), noting each in the outcome. */
export function foldTags(keeperTags: string[], copyTags: readonly string[], outcome: Pick<MergeOutcome, 'tagsAdded'>): void {
  for (const tag of copyTags) {
    if (keeperTags.includes(tag)) continue;
    keeperTags.push(tag);
    outcome.tagsAdded.push(tag);
  }
}

/** An outcome with nothing merged yet. */
export function emptyMergeOutcome(): MergeOutcome {
  return { merged: [], skipped: [], keeperFound: false, sourcesMoved: 0, tagsAdded: [], vectors: 0, objects: 0 };
}

/** Every copy skipped, because the keeper is gone or changed. */
export function keeperGone(copies: ReadonlyArray<{ id: number; md5: string }>): MergeOutcome {
  return { ...emptyMergeOutcome(), skipped: copies.map((c) => ({ ...c, reason: 'the meme to keep is gone or changed' })) };
}
