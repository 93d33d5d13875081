/**
 * `emomo purge --source S`: removes what a source brought into the library.
 * An image another source also offered stays (with its object, description
 * and vectors); only the purged source's link to it goes. Database rows change
 * in one transaction first, objects are deleted after: an object whose delete
 * fails is left as an orphan that `emomo verify --repair` removes later.
 */
import { errorMessage } from '../errors.js';
import type { ObjectStorage } from '../ports.js';
import type { PurgeCounts, PurgeStore } from '../store/ports.js';

export interface PurgeOptions {
  source: string;
  dryRun: boolean;
  examples: number;
}

export interface PurgeReport extends PurgeCounts {
  source: string;
  dry_run: boolean;
  objects_deleted: number;
  /** Objects whose delete failed: left as orphans for `emomo verify --repair`. */
  objects_failed: number;
  object_failures: string[];
  duration_ms: number;
}

const PAGE = 200;

export async function purgeSource(store: PurgeStore, storage: ObjectStorage, options: PurgeOptions): Promise<PurgeReport> {
  const started = Date.now();
  await store.preparePurge(options.source);
  try {
    const counts = await store.purgeCounts(options.source, options.examples);
    const report: PurgeReport = {
      source: options.source,
      dry_run: options.dryRun,
      ...counts,
      objects_deleted: 0,
      objects_failed: 0,
      object_failures: [],
      duration_ms: 0,
    };
    if (!options.dryRun) {
      await store.applyPurge(options.source);
      let after = '';
      for (let keys = await store.purgeObjectKeys(after, PAGE); keys.length > 0; keys = await store.purgeObjectKeys(after, PAGE)) {
        for (const key of keys) {
          try {
            await storage.delete(key);
            report.objects_deleted++;
          } catch (err) {
            report.objects_failed++;
            if (report.object_failures.length < options.examples) report.object_failures.push(`${key}: ${errorMessage(err)}`);
          }
        }
        after = keys[keys.length - 1]!;
      }
    }
    report.duration_ms = Date.now() - started;
    return report;
  } finally {
    await store.endPurge();
  }
}
