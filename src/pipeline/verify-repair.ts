/**
 * `verify --repair`: heals what the audit found, in an order that never
 * destroys an original to fix a derived artefact:
 *
 *   0. the database file must pass its own full integrity check, or nothing changes;
 *   1. lost objects are put back from the sources' files where still there;
 *   2. the share guard (repair-guard.ts) refuses a repair that would delete
 *      too much, before anything is deleted;
 *   3. derived rows are rebuilt or removed (a meme missing a vector is
 *      re-queued for `emomo embed`, never removed);
 *   4. a meme is removed only when its object is still missing and no source
 *      has the file, re-checked in the transaction that removes it;
 *   5. orphan objects are recorded as deletes and every recorded delete is
 *      finished, each re-checked (object-deletes.ts);
 *   6. damaged objects (deep) are re-stored from the sources' files;
 *   7. leftover temporary files go.
 */
import { errorMessage } from '../errors.js';
import type { ObjectStorage } from '../ports.js';
import { newOwnerId } from '../store/claim-owner.js';
import { VERIFY_CHECKS, type DatabaseRepair, type VerifyCheck } from '../store/ports.js';
import { restoreFromOriginals } from './object-content.js';
import { finishObjectDeletes } from './object-deletes.js';
import { refuseDeletion, type RepairRefusal } from './repair-guard.js';
import { DEFAULT_LEFTOVER_AGE_MS, ISSUE_TEXT, issue, type Audit, type Issue, type RepairAction } from './verify-issues.js';
import type { VerifyDeps, VerifyOptions } from './verify-service.js';

export interface RepairOutcome {
  actions: RepairAction[];
  requeued: DatabaseRepair['requeued'];
  undescribed: DatabaseRepair['undescribed'];
  refused?: RepairRefusal;
  /** Problems the database's integrity check found: nothing was changed. */
  integrity?: string[];
  /** False when nothing was changed (refused, or a damaged database). */
  changed: boolean;
  /** Damaged objects no source could replace (deep only). */
  unrepairedContent?: Issue;
}

const PAGE = 500;
/** Kinds whose repair is reported by the steps here rather than by the database repair. */
const STORAGE_KINDS = new Set<VerifyCheck>(['object_without_meme', 'meme_without_object', 'pending_object_delete']);

export async function repairLibrary(
  store: VerifyDeps,
  storage: ObjectStorage,
  first: Audit,
  options: VerifyOptions,
  notes: string[],
): Promise<RepairOutcome> {
  const progress = options.onProgress ?? (() => undefined);
  const outcome: RepairOutcome = { actions: [], requeued: [], undescribed: { count: 0, examples: [] }, changed: false };
  if (first.integrity) return outcome;
  // Indexes that disagree with their table (flipped bytes) pass a quick check but mislead every repair: the full check runs.
  const problems = options.deep ? [] : await store.checkIntegrity(true, Math.max(options.examples, 10));
  if (problems.length > 0) {
    notes.push('the database file is damaged (its integrity check failed): nothing was repaired (see docs/verify.md)');
    return { ...outcome, integrity: problems };
  }

  const lost = await restoreLost(store, storage, options);
  progress('restore lost objects', lost.restored);
  const lostAction = (removed: number): RepairAction => ({
    kind: 'meme_without_object',
    fixed: lost.restored + removed,
    action: `${lost.restored} re-stored from their source files, ${removed} removed (no source has the file any more)`,
    ...(lost.failures.length > 0 ? { failed: lost.failures.length, examples: lost.failures.slice(0, options.examples) } : {}),
  });

  const orphans = first.issues.find((i) => i.kind === 'object_without_meme');
  const refused = refuseDeletion({
    memes: lost.remaining,
    objects: first.counts.object_without_meme ?? 0,
    libraryMemes: first.totals.memes,
    libraryObjects: first.totals.objects,
    examples: [...lost.examples, ...(orphans?.examples ?? [])].slice(0, options.examples),
  });
  if (refused && !options.force) {
    notes.push(`repair refused, nothing was deleted: ${refused.reason}. Check --db, --config and the storage settings; --force repairs anyway`);
    if (lost.restored > 0) outcome.actions.push(lostAction(0));
    return { ...outcome, refused, changed: lost.restored > 0 };
  }
  outcome.changed = true;

  const db = await store.repairDatabase(options.examples);
  progress('repair database', 0);
  outcome.requeued = db.requeued;
  outcome.undescribed = db.undescribed;

  const removed = await removeLost(store, storage);
  if (lost.restored + removed + lost.failures.length > 0) outcome.actions.push(lostAction(removed));
  for (const kind of VERIFY_CHECKS) {
    const n = db.fixed[kind] ?? 0;
    if (n > 0 && !STORAGE_KINDS.has(kind)) outcome.actions.push({ kind, fixed: n, action: ISSUE_TEXT[kind].repair });
  }

  // Objects last: the database no longer refers to them.
  await store.queueOrphanDeletes();
  const deletes = await finishObjectDeletes(store, storage, { owner: options.owner ?? newOwnerId(), examples: options.examples });
  progress('delete objects', deletes.deleted);
  if (deletes.deleted + deletes.failed > 0) {
    outcome.actions.push({
      kind: 'object_without_meme',
      fixed: deletes.deleted,
      failed: deletes.failed,
      action: `${ISSUE_TEXT.object_without_meme.repair} (recorded deletes of earlier runs included)`,
      examples: deletes.failures,
    });
  }
  if (deletes.waiting > 0) notes.push(`${deletes.waiting} object deletes wait for a running ingest that claims the image: the next verify --repair or purge finishes them`);
  if (deletes.inUse > 0) notes.push(`${deletes.inUse} recorded object deletes were dropped: a meme uses the object again`);

  if (first.damaged.length > 0) {
    const { restored, failures } = await restoreFromOriginals(storage, options.originals, first.damaged, true);
    outcome.actions.push({
      kind: 'object_content_mismatch',
      fixed: restored.size,
      action: ISSUE_TEXT.object_content_mismatch.repair,
      ...(failures.length > 0 ? { failed: failures.length, examples: failures.slice(0, options.examples) } : {}),
    });
    const left = first.damaged.filter((m) => !restored.has(m.id));
    if (left.length > 0) outcome.unrepairedContent = issue('object_content_mismatch', left.length, left.slice(0, options.examples).map((m) => m.storageKey));
  }

  const leftovers = await removeLeftovers(storage, options);
  if (leftovers.fixed + leftovers.failed > 0) outcome.actions.push({ kind: 'leftover_temp_file', ...leftovers, action: ISSUE_TEXT.leftover_temp_file.repair });
  return outcome;
}

/**
 * Memes whose object was not listed: an object that exists again is left
 * alone, a lost one is put back from its source file when one has it. Both
 * join the listing, so only the memes nothing can save remain `meme_without_object`.
 */
async function restoreLost(store: VerifyDeps, storage: ObjectStorage, options: VerifyOptions) {
  const result = { restored: 0, remaining: 0, examples: [] as string[], failures: [] as string[] };
  for (let after = 0; ; ) {
    const page = await store.memesWithoutObject(after, PAGE);
    if (page.length === 0) return result;
    after = page[page.length - 1]!.id;
    const present = new Set<number>();
    for (const meme of page) if (await storage.exists(meme.storageKey)) present.add(meme.id);
    const missing = page.filter((m) => !present.has(m.id));
    const { restored, failures } = await restoreFromOriginals(storage, options.originals, missing, false);
    result.restored += restored.size;
    result.failures.push(...failures);
    for (const meme of missing) {
      if (restored.has(meme.id)) continue;
      result.remaining++;
      if (result.examples.length < options.examples) result.examples.push(`${meme.md5} (${meme.sources[0]?.sourceType} ${meme.sources[0]?.sourceId})`);
    }
    await store.addListedObjects(page.filter((m) => present.has(m.id) || restored.has(m.id)).map((m) => m.storageKey));
  }
}

/** Removes each meme whose object is still missing; the store re-checks it in the removing transaction. */
async function removeLost(store: VerifyDeps, storage: ObjectStorage): Promise<number> {
  let removed = 0;
  for (let after = 0; ; ) {
    const page = await store.memesWithoutObject(after, PAGE);
    if (page.length === 0) return removed;
    after = page[page.length - 1]!.id;
    for (const meme of page) {
      if (await storage.exists(meme.storageKey)) continue;
      if (await store.removeMemeWithoutObject(meme)) removed++;
    }
  }
}

async function removeLeftovers(storage: ObjectStorage, options: VerifyOptions): Promise<{ fixed: number; failed: number; examples?: string[] }> {
  let fixed = 0;
  let failed = 0;
  // `name: reason` of the first failures: a repair never drops why it could not fix something.
  const examples: string[] = [];
  if (!storage.leftovers || !storage.removeLeftover) return { fixed, failed };
  for await (const name of storage.leftovers(options.leftoverAgeMs ?? DEFAULT_LEFTOVER_AGE_MS)) {
    try {
      await storage.removeLeftover(name);
      fixed++;
    } catch (err) {
      failed++;
      if (examples.length < options.examples) examples.push(`${name}: ${errorMessage(err)}`);
    }
  }
  return examples.length > 0 ? { fixed, failed, examples } : { fixed, failed };
}
