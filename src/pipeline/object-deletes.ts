/**
 * Finishes the object deletes recorded in the database (by purge, or by
 * repair for orphans), a page at a time. Each page is re-checked and leased
 * by the store (ObjectDeleteQueue): an object a meme refers to again stays,
 * an image a live ingest claims is left for a later run, and while this run
 * holds the lease no ingest can claim the image and reuse the object. The
 * lease is renewed by the claim heartbeat for as long as deletes run.
 */
import pLimit from 'p-limit';
import { errorMessage } from '../errors.js';
import type { ObjectStorage } from '../ports.js';
import type { ClaimStore, ObjectDeleteQueue } from '../store/ports.js';
import { LeaseKeeper } from './claim-lease.js';

export interface ObjectDeleteSummary {
  deleted: number;
  /** Deletes that failed: tried again by the next purge or verify --repair. */
  failed: number;
  /** Recorded deletes dropped because a meme refers to the object again. */
  inUse: number;
  /** Left for a later run: the image is claimed by a running ingest, or another run is deleting it. */
  waiting: number;
  /** `key: reason` of failed deletes, at most `examples`. */
  failures: string[];
}

const PAGE = 100;
/** Deletes in flight at once (a remote bucket answers each in tens of milliseconds). */
const PARALLEL = 8;

export async function finishObjectDeletes(
  store: ObjectDeleteQueue & Pick<ClaimStore, 'renewClaims'>,
  storage: ObjectStorage,
  options: { owner: string; examples: number },
): Promise<ObjectDeleteSummary> {
  const summary: ObjectDeleteSummary = { deleted: 0, failed: 0, inUse: 0, waiting: 0, failures: [] };
  const lease = new LeaseKeeper(store, options.owner);
  const release = lease.hold();
  const limit = pLimit(PARALLEL);
  try {
    let after = '';
    for (;;) {
      const batch = await store.takeObjectDeletes(options.owner, after, PAGE, lease.leaseMs);
      summary.inUse += batch.inUse;
      summary.waiting += batch.waiting;
      const done: string[] = [];
      await Promise.all(
        batch.keys.map((key) =>
          limit(async () => {
            try {
              await storage.delete(key);
              done.push(key);
            } catch (err) {
              summary.failed++;
              if (summary.failures.length < options.examples) summary.failures.push(`${key}: ${errorMessage(err)}`);
            }
          }),
        ),
      );
      await store.finishObjectDeletes(options.owner, done);
      summary.deleted += done.length;
      if (batch.last === undefined) return summary;
      after = batch.last;
    }
  } finally {
    release();
  }
}
