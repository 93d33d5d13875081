/**
 * `emomo verify`: cross-checks the database against itself and against object
 * storage, and with `repair` fixes what can be fixed. The rules (what counts as
 * an inconsistency, what repair does) are documented in docs/verify.md.
 *
 * Memory stays flat: the object listing is streamed into the store in batches
 * and every check is answered by the store as a count plus a few examples.
 */
import { errorMessage } from '../errors.js';
import type { ObjectStorage } from '../ports.js';
import { VERIFY_CHECKS, type VerifyCheck, type VerifyStore, type VerifyTotals } from '../store/ports.js';

export type IssueKind = VerifyCheck | 'leftover_temp_file';

export const ISSUE_TEXT: Record<IssueKind, { what: string; repair: string }> = {
  object_without_meme: { what: 'objects in storage no meme refers to', repair: 'object deleted' },
  meme_without_object: { what: 'memes whose object is missing', repair: 'meme, its vectors and FTS row removed (re-ingest its source to restore it)' },
  vector_row_without_meme: { what: 'meme_vectors rows without their meme', repair: 'row deleted' },
  vec_row_without_vector_row: { what: 'vector-table rows without a meme_vectors row', repair: 'vector deleted' },
  vector_row_without_vec_row: { what: 'meme_vectors rows whose vector is missing', repair: 'row deleted (run `emomo embed` to re-embed)' },
  vector_dims_mismatch: { what: 'vectors whose dimension disagrees with their collection', repair: 'row and vector deleted (run `emomo embed` to re-embed)' },
  meme_without_vector: { what: 'memes with no vector in any collection', repair: 'meme and FTS row removed, object deleted (re-ingest its source to restore it)' },
  vector_without_description: { what: 'vectors whose description is missing', repair: 'not repairable here: `emomo ingest --force` re-describes' },
  fts_row_without_meme: { what: 'keyword-index rows without a meme', repair: 'row deleted' },
  meme_without_fts_row: { what: 'memes missing from the keyword index', repair: 'rebuilt from the description' },
  source_link_without_meme: { what: 'meme_sources rows pointing to no meme', repair: 'row deleted' },
  leftover_temp_file: { what: 'temporary files left by interrupted writes', repair: 'file deleted' },
};

export interface Issue {
  kind: IssueKind;
  what: string;
  count: number;
  examples: string[];
}

export interface RepairAction {
  kind: IssueKind;
  fixed: number;
  action: string;
  /** Deletes that failed (objects): left in place, reported again by the next verify. */
  failed?: number;
  examples?: string[];
}

export interface VerifyReport {
  consistent: boolean;
  /** Total inconsistencies found (before any repair). */
  found: number;
  issues: Issue[];
  /** What was checked (before any repair). */
  totals: VerifyTotals;
  totals_after_repair?: VerifyTotals;
  /** As of the end of the run. Memes that have a vector elsewhere but not in this collection yet: `emomo embed` fills these; not an error. */
  backfill: Array<{ collection: string; missing: number }>;
  repaired?: RepairAction[];
  /** What a fresh verify found after the repair (only with repair). */
  remaining?: Issue[];
  notes: string[];
  duration_ms: number;
}

export interface VerifyOptions {
  repair: boolean;
  examples: number;
  /** Temporary files younger than this may belong to a running ingest and are left alone. */
  leftoverAgeMs?: number;
  /** Called between steps (for progress output and memory sampling). */
  onProgress?: (step: string, done: number) => void;
}

const LIST_BATCH = 1000;
const DELETE_PAGE = 200;

export async function verifyLibrary(store: VerifyStore, storage: ObjectStorage, options: VerifyOptions): Promise<VerifyReport> {
  const started = Date.now();
  const notes: string[] = [];
  await store.beginVerify();
  try {
    const first = await audit(store, storage, options);
    const report: VerifyReport = {
      consistent: first.found === 0,
      found: first.found,
      issues: first.issues,
      totals: first.totals,
      backfill: first.backfill,
      notes,
      duration_ms: 0,
    };
    if (options.repair && first.found > 0) {
      report.repaired = await repair(store, storage, first, options, notes);
      await store.beginVerify();
      const after = await audit(store, storage, options);
      report.remaining = after.issues;
      report.totals_after_repair = after.totals;
      report.backfill = after.backfill;
      report.consistent = after.found === 0;
    }
    report.duration_ms = Date.now() - started;
    return report;
  } finally {
    await store.endVerify();
  }
}

interface Audit {
  found: number;
  issues: Issue[];
  totals: VerifyTotals;
  backfill: Array<{ collection: string; missing: number }>;
}

async function audit(store: VerifyStore, storage: ObjectStorage, options: VerifyOptions): Promise<Audit> {
  const progress = options.onProgress ?? (() => undefined);
  let batch: string[] = [];
  let listed = 0;
  for await (const key of storage.list()) {
    batch.push(key);
    if (batch.length >= LIST_BATCH) {
      await store.addListedObjects(batch);
      listed += batch.length;
      batch = [];
      progress('list objects', listed);
    }
  }
  await store.addListedObjects(batch);
  progress('list objects', listed + batch.length);

  const issues: Issue[] = [];
  const leftovers = await findLeftovers(storage, options);
  const { checks, totals, backfill } = await store.audit(options.examples);
  for (const kind of VERIFY_CHECKS) {
    const { count, examples } = checks[kind];
    if (count > 0) issues.push({ kind, what: ISSUE_TEXT[kind].what, count, examples });
    progress(`check ${kind}`, count);
  }
  if (leftovers.count > 0) issues.push({ kind: 'leftover_temp_file', what: ISSUE_TEXT.leftover_temp_file.what, ...leftovers });
  return { found: issues.reduce((n, i) => n + i.count, 0), issues, totals, backfill };
}

async function findLeftovers(storage: ObjectStorage, options: VerifyOptions): Promise<{ count: number; examples: string[] }> {
  const examples: string[] = [];
  let count = 0;
  if (!storage.leftovers) return { count, examples };
  for await (const name of storage.leftovers(options.leftoverAgeMs ?? DEFAULT_LEFTOVER_AGE_MS)) {
    count++;
    if (examples.length < options.examples) examples.push(name);
  }
  return { count, examples };
}

export const DEFAULT_LEFTOVER_AGE_MS = 60 * 60 * 1000;

async function repair(
  store: VerifyStore,
  storage: ObjectStorage,
  first: Audit,
  options: VerifyOptions,
  notes: string[],
): Promise<RepairAction[]> {
  const actions: RepairAction[] = [];
  const progress = options.onProgress ?? (() => undefined);
  const missing = first.issues.find((i) => i.kind === 'meme_without_object')?.count ?? 0;
  // An empty or wrongly configured storage would make every meme look lost: never remove them all.
  const removeMemesWithoutObject = !(missing > 0 && missing === first.totals.memes);
  if (!removeMemesWithoutObject) {
    notes.push(
      `every meme's object is missing (${missing}): is the storage configured right? Memes were not removed.`,
    );
  }
  const fixed = await store.repairDatabase({ removeMemesWithoutObject });
  progress('repair database', 0);
  for (const kind of VERIFY_CHECKS) {
    const n = fixed[kind] ?? 0;
    if (n > 0) actions.push({ kind, fixed: n, action: ISSUE_TEXT[kind].repair });
  }

  // Objects last: the database no longer refers to them (memes removed above included).
  const objects = await deletePaged((after) => store.orphanObjects(after, DELETE_PAGE), (key) => storage.delete(key), options);
  if (objects.fixed + objects.failed > 0) {
    actions.push({ kind: 'object_without_meme', action: ISSUE_TEXT.object_without_meme.repair, ...objects });
  }
  progress('delete objects', objects.fixed);

  if (storage.leftovers && storage.removeLeftover) {
    const remove = storage.removeLeftover.bind(storage);
    let fixed = 0;
    let failed = 0;
    for await (const name of storage.leftovers(options.leftoverAgeMs ?? DEFAULT_LEFTOVER_AGE_MS)) {
      try {
        await remove(name);
        fixed++;
      } catch {
        failed++;
      }
    }
    if (fixed + failed > 0) actions.push({ kind: 'leftover_temp_file', fixed, failed, action: ISSUE_TEXT.leftover_temp_file.repair });
  }
  return actions;
}

/** Deletes keys a page at a time; a failed delete is skipped (and found again by the next verify). */
async function deletePaged(
  page: (after: string) => Promise<string[]>,
  remove: (key: string) => Promise<void>,
  options: VerifyOptions,
): Promise<{ fixed: number; failed: number; examples: string[] }> {
  let after = '';
  let fixed = 0;
  let failed = 0;
  const examples: string[] = [];
  for (;;) {
    const keys = await page(after);
    if (keys.length === 0) break;
    for (const key of keys) {
      try {
        await remove(key);
        fixed++;
      } catch (err) {
        failed++;
        if (examples.length < options.examples) examples.push(`${key}: ${errorMessage(err)}`);
      }
    }
    after = keys[keys.length - 1]!;
  }
  return { fixed, failed, examples };
}
