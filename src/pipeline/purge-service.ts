/**
 * `emomo purge --source S`: removes what a source brought into the library.
 * An image another source also offered stays (with its object, description
 * and vectors); only the purged source's link to it goes.
 *
 * Safe beside a running ingest by construction: the store decides what to
 * remove, removes the rows and records the objects to delete in one
 * transaction; the objects are then deleted through the object-delete queue,
 * which re-checks each one (see object-deletes.ts). Deletes left over by an
 * earlier purge that was killed after its commit are finished too.
 */
import type { ObjectStorage } from '../ports.js';
import { newOwnerId } from '../store/claim-owner.js';
import type { ClaimStore, ObjectDeleteQueue, PurgeCounts, PurgeStore } from '../store/ports.js';
import { finishObjectDeletes } from './object-deletes.js';

export interface PurgeOptions {
  source: string;
  dryRun: boolean;
  examples: number;
  /** This run as the owner of its delete leases (one is made when absent). */
  owner?: string;
}

export interface PurgeReport extends PurgeCounts {
  source: string;
  dry_run: boolean;
  /** Objects deleted, this purge's and any an earlier run left recorded. */
  objects_deleted: number;
  /** Objects whose delete failed: tried again by the next purge or `emomo verify --repair`. */
  objects_failed: number;
  object_failures: string[];
  /** Objects kept because a meme refers to them again (an ingest added the image back meanwhile). */
  objects_in_use: number;
  /** Deletes left for the next purge or verify --repair: a running ingest claims the image. */
  objects_waiting: number;
  duration_ms: number;
}

export async function purgeSource(
  store: PurgeStore & ObjectDeleteQueue & Pick<ClaimStore, 'renewClaims'>,
  storage: ObjectStorage,
  options: PurgeOptions,
): Promise<PurgeReport> {
  const started = Date.now();
  const counts = options.dryRun
    ? await store.purgeCounts(options.source, options.examples)
    : await store.applyPurge(options.source, options.examples);
  const report: PurgeReport = {
    source: options.source,
    dry_run: options.dryRun,
    ...counts,
    objects_deleted: 0,
    objects_failed: 0,
    object_failures: [],
    objects_in_use: 0,
    objects_waiting: 0,
    duration_ms: 0,
  };
  if (!options.dryRun) {
    const deletes = await finishObjectDeletes(store, storage, { owner: options.owner ?? newOwnerId(), examples: options.examples });
    report.objects_deleted = deletes.deleted;
    report.objects_failed = deletes.failed;
    report.object_failures = deletes.failures;
    report.objects_in_use = deletes.inUse;
    report.objects_waiting = deletes.waiting;
  }
  report.duration_ms = Date.now() - started;
  return report;
}
