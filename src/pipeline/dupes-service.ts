/**
 * `emomo dupes`: hashes what has no hashes yet (hash-backfill.ts), finds the
 * memes that show the same picture (banded, pictures/picture-components.ts),
 * and tells duplicates (same picture and caption: one copy is kept) from
 * template variants (another caption: linked, never merged) with
 * pictures/dupe-groups.ts. With `merge`, each duplicate group is merged into
 * its keeper in one transaction (PictureStore.mergeDuplicates: sources and
 * tags folded in, the copies' rows and vectors removed, their objects
 * recorded as deletes), variants are linked, and the recorded deletes are
 * finished like purge's (object-deletes.ts). A merge that would remove more
 * than the share guard allows (repair-guard.ts) refuses without `force`.
 */
import type { ImageLimits } from '../images/probe.js';
import type { ObjectStorage } from '../ports.js';
import { groupComponent, type DuplicateGroup, type VariantGroup } from '../pictures/dupe-groups.js';
import { PictureTable, samePictureComponents } from '../pictures/picture-components.js';
import { SAME_COLOURS, SAME_PICTURE_DISTANCE } from '../pictures/similarity.js';
import { newOwnerId } from '../store/claim-owner.js';
import type { ClaimStore, ObjectDeleteQueue, PictureFacts, PictureStore } from '../store/ports.js';
import { backfillHashes, type HashBackfill } from './hash-backfill.js';
import { finishObjectDeletes, type ObjectDeleteSummary } from './object-deletes.js';
import { deletionLimit } from './repair-guard.js';

const PAGE = 5_000;
const FACTS_PAGE = 500;
export const MERGE_REASON = 'dupes --merge';

export interface DupesDeps {
  store: PictureStore & ObjectDeleteQueue & Pick<ClaimStore, 'renewClaims'>;
  storage: ObjectStorage;
  limits: ImageLimits;
  redact: (text: string) => string;
}

export interface DupesOptions {
  merge: boolean;
  /** Merge even past the share guard. */
  force: boolean;
  examples: number;
  signal?: AbortSignal;
  onProgress?: (stage: 'hash' | 'merge', done: number) => void;
}

export interface MergeSummary {
  merged: number;
  skipped: Array<{ id: number; md5: string; reason: string }>;
  sourcesMoved: number;
  tagsAdded: number;
  vectors: number;
  variantsLinked: number;
  objects: ObjectDeleteSummary;
}

export interface DupesResult {
  hashes: HashBackfill;
  /** Memes compared (those with hashes). */
  memes: number;
  duplicates: DuplicateGroup[];
  variants: VariantGroup[];
  merge?: MergeSummary;
  /** Why a merge was refused (the share guard); nothing was changed. */
  refused?: string;
  durationMs: number;
}

export async function findDuplicates(deps: DupesDeps, opts: DupesOptions): Promise<DupesResult> {
  const started = Date.now();
  const hashes = await backfillHashes(deps.store, deps.storage, {
    limits: deps.limits,
    examples: opts.examples,
    redact: deps.redact,
    signal: opts.signal,
    onProgress: (done) => opts.onProgress?.('hash', done),
  });
  const memes = await allHashes(deps.store);
  const components = samePictureComponents(memes, SAME_PICTURE_DISTANCE, SAME_COLOURS);
  const facts = await factsOf(deps.store, components.flat());
  const result: DupesResult = { hashes, memes: memes.size, duplicates: [], variants: [], durationMs: 0 };
  for (const ids of components) {
    const members = ids.map((id) => facts.get(id)).filter((m): m is PictureFacts => m !== undefined);
    const groups = groupComponent(members);
    result.duplicates.push(...groups.duplicates);
    if (groups.variants) result.variants.push(groups.variants);
  }
  if (opts.merge && !opts.signal?.aborted) {
    const copies = result.duplicates.reduce((n, g) => n + g.copies.length, 0);
    const allowed = deletionLimit(memes.size + hashes.failed);
    if (copies > allowed && !opts.force) {
      result.refused = `${copies} of ${memes.size + hashes.failed} memes would be merged away (at most ${allowed} without --force): check the groups above first`;
    } else {
      result.merge = await merge(deps, result, opts);
    }
  }
  result.durationMs = Date.now() - started;
  return result;
}

/** Every hashed meme's picture hash and colours, read page by page into typed arrays (a few bytes a meme). */
async function allHashes(store: Pick<PictureStore, 'hashedMemes'>): Promise<PictureTable> {
  const table = new PictureTable();
  let after = 0;
  for (;;) {
    const page = await store.hashedMemes(after, PAGE);
    if (page.length === 0) return table;
    for (const m of page) table.add(m);
    after = page[page.length - 1]!.id;
  }
}

async function factsOf(store: Pick<PictureStore, 'pictureFacts'>, ids: readonly number[]): Promise<Map<number, PictureFacts>> {
  const out = new Map<number, PictureFacts>();
  for (let i = 0; i < ids.length; i += FACTS_PAGE) {
    for (const f of await store.pictureFacts(ids.slice(i, i + FACTS_PAGE))) out.set(f.id, f);
  }
  return out;
}

async function merge(deps: DupesDeps, found: DupesResult, opts: DupesOptions): Promise<MergeSummary> {
  const summary: MergeSummary = { merged: 0, skipped: [], sourcesMoved: 0, tagsAdded: 0, vectors: 0, variantsLinked: 0, objects: { deleted: 0, failed: 0, inUse: 0, waiting: 0, failures: [] } };
  for (const group of found.duplicates) {
    if (opts.signal?.aborted) break;
    const outcome = await deps.store.mergeDuplicates(
      { keeper: { id: group.kept.id, md5: group.kept.md5 }, copies: group.copies.map((c) => ({ id: c.id, md5: c.md5 })) },
      MERGE_REASON,
    );
    summary.merged += outcome.merged.length;
    summary.skipped.push(...outcome.skipped);
    summary.sourcesMoved += outcome.sourcesMoved;
    summary.tagsAdded += outcome.tagsAdded.length;
    summary.vectors += outcome.vectors;
    opts.onProgress?.('merge', summary.merged);
  }
  summary.variantsLinked = await deps.store.linkVariants(
    found.variants.map((v) => ({ templateId: v.members[0]!.id, memberIds: v.members.slice(1).map((m) => m.id) })),
  );
  summary.objects = await finishObjectDeletes(deps.store, deps.storage, { owner: newOwnerId(), examples: opts.examples });
  return summary;
}
