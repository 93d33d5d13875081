/**
 * `emomo verify`: cross-checks the database against itself and against object
 * storage, and with `repair` heals what can be healed (verify-repair.ts). The
 * rules are documented in docs/verify.md.
 *
 * Safe beside a running ingest, purge or embed by construction: the memes are
 * snapshotted before storage is listed (a meme committed during the listing is
 * never called lost), an object is an orphan only if no meme refers to it in
 * a check made after the listing and no live claim holds its image, and every
 * deletion is checked again where it happens. Memory stays flat: the listing
 * is streamed into the store and every check comes back as a count plus a few
 * examples.
 */
import type { ObjectStorage, Originals } from '../ports.js';
import { VERIFY_CHECKS, type ClaimStore, type ObjectDeleteQueue, type VerifyStore, type VerifyTotals } from '../store/ports.js';
import { checkObjectContent } from './object-content.js';
import type { RepairRefusal } from './repair-guard.js';
import { DEFAULT_LEFTOVER_AGE_MS, ISSUE_TEXT, issue, type Audit, type Issue, type IssueKind, type RepairAction } from './verify-issues.js';
import { repairLibrary } from './verify-repair.js';

export { DEFAULT_LEFTOVER_AGE_MS, ISSUE_TEXT, type Issue, type IssueKind, type RepairAction };

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
  /** Memes this repair left for `emomo embed`, per collection (their vector was missing or broken). */
  requeued?: Array<{ collection: string; memes: number }>;
  /** Memes with neither vector nor description: only a re-ingest of their source describes them. */
  undescribed?: { count: number; examples: string[] };
  /** Repair would have deleted too much and changed nothing (see repair-guard.ts); `--force` overrides. */
  refused?: RepairRefusal;
  /** What a fresh verify found after the repair (only with repair). */
  remaining?: Issue[];
  notes: string[];
  duration_ms: number;
}

export interface VerifyOptions {
  repair: boolean;
  /** Also read every object back against its md5 and run the database's full integrity check. */
  deep?: boolean;
  /** Repair even when it would delete more than the share guard allows. */
  force?: boolean;
  examples: number;
  /** Where lost or damaged objects may be found again (the sources' files). */
  originals?: Originals;
  /** This run as the owner of its delete leases (one is made when absent). */
  owner?: string;
  /** Temporary files younger than this may belong to a running ingest and are left alone. */
  leftoverAgeMs?: number;
  /** Called between steps (for progress output and memory sampling). */
  onProgress?: (step: string, done: number) => void;
}

export type VerifyDeps = VerifyStore & ObjectDeleteQueue & Pick<ClaimStore, 'renewClaims'>;

const LIST_BATCH = 1000;

export async function verifyLibrary(store: VerifyDeps, storage: ObjectStorage, options: VerifyOptions): Promise<VerifyReport> {
  const started = Date.now();
  const notes: string[] = [];
  try {
    const first = await audit(store, storage, options, options.deep ?? false, notes);
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
      const outcome = await repairLibrary(store, storage, first, options, notes);
      report.repaired = outcome.actions;
      if (outcome.requeued.length > 0) report.requeued = outcome.requeued;
      if (outcome.undescribed.count > 0) report.undescribed = outcome.undescribed;
      if (outcome.refused) report.refused = outcome.refused;
      if (outcome.integrity) {
        report.issues.push(issue('database_integrity', outcome.integrity.length, outcome.integrity.slice(0, options.examples)));
        report.found += outcome.integrity.length;
        report.consistent = false;
      }
      if (outcome.changed) {
        const after = await audit(store, storage, options, false, []);
        const damaged = outcome.unrepairedContent;
        if (damaged) after.issues.push(damaged);
        report.remaining = after.issues;
        report.totals_after_repair = after.totals;
        report.backfill = after.backfill;
        report.consistent = after.issues.length === 0;
      } else {
        report.remaining = first.issues;
      }
    }
    report.duration_ms = Date.now() - started;
    return report;
  } finally {
    await store.endVerify();
  }
}

/** Snapshot, listing, checks; with `deep` the integrity check and the content check too. */
async function audit(store: VerifyDeps, storage: ObjectStorage, options: VerifyOptions, deep: boolean, notes: string[]): Promise<Audit> {
  const progress = options.onProgress ?? (() => undefined);
  const issues: Issue[] = [];
  const result = (totals: VerifyTotals, backfill: Audit['backfill'], extra: Partial<Audit> = {}): Audit => ({
    found: issues.reduce((n, i) => n + i.count, 0),
    issues,
    totals,
    backfill,
    counts: {},
    damaged: [],
    ...extra,
  });
  if (deep) {
    const problems = await store.checkIntegrity(true, Math.max(options.examples, 10));
    progress('integrity check', problems.length);
    if (problems.length > 0) {
      issues.push(issue('database_integrity', problems.length, problems.slice(0, options.examples)));
      notes.push('the database file is damaged: the other checks were skipped and nothing can be repaired (see docs/verify.md)');
      return result({ memes: 0, vectors: 0, descriptions: 0, fts_rows: 0, objects: 0 }, [], { integrity: problems });
    }
  }

  await store.beginVerify();
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

  const leftovers = await findLeftovers(storage, options);
  const { checks, totals, backfill } = await store.audit(options.examples);
  const counts: Audit['counts'] = {};
  for (const kind of VERIFY_CHECKS) {
    const { count, examples } = checks[kind];
    counts[kind] = count;
    if (count > 0) issues.push(issue(kind, count, examples));
    progress(`check ${kind}`, count);
  }
  if (leftovers.count > 0) issues.push(issue('leftover_temp_file', leftovers.count, leftovers.examples));
  let damaged: Audit['damaged'] = [];
  if (deep) {
    const content = await checkObjectContent(store, storage, options.examples, (n) => progress('read objects', n));
    damaged = content.damaged;
    if (damaged.length > 0) issues.push(issue('object_content_mismatch', damaged.length, content.examples));
    if (content.unreadable.length > 0) {
      notes.push(`${content.unreadable.length} objects could not be read, e.g. ${content.unreadable.slice(0, options.examples).join('; ')}`);
    }
  }
  return result(totals, backfill, { counts, damaged });
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
