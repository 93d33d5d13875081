/** One crawl per staging source at a time: `<source>/.crawl.lock` (see src/lock-file.ts). */
import { LockedError } from '../errors.js';
import { acquireLockFile, liveLockHolder, type HeldLock, type LockHolder } from '../lock-file.js';

/** Takes the crawl lock of a source; a lock left by a dead process is taken over. */
export function acquireCrawlLock(lock: string, sourceId: string): HeldLock {
  const result = acquireLockFile(lock, 'crawl', sourceId);
  if ('heldBy' in result) {
    throw new LockedError(
      `another crawl of "${sourceId}" is running (pid ${result.heldBy.pid}, since ${result.heldBy.started}); if it is not, delete ${lock}`,
    );
  }
  return result;
}

/** The live crawl holding the lock of a source, if any. */
export function crawlLockHolder(lock: string): LockHolder | undefined {
  return liveLockHolder(lock);
}
