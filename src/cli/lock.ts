/**
 * The advisory lock that makes an overlapping cron run exit at once instead of
 * queueing behind the one still running, one per command and scope: `ingest`
 * locks per source, `retry-pending` and `embed` per collection, so different
 * jobs still run side by side (item claims keep them from doing the same work
 * twice). Run locks are a small port: on a SQLite library they are lock files
 * next to the database (src/lock-file.ts: stale when the holder is provably
 * gone or its heartbeat expired); a library on a database server holds
 * them as server-side advisory locks instead (the store's `ServerRunLocks`:
 * one holder among every machine, freed when the holder's session ends).
 */
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { ExitCode } from '../errors.js';
import { DEFAULT_LOCK_TIMING, acquireLockFile, type HeldLock, type LockHolder } from '../lock-file.js';
import type { ServerRunLocks } from '../store/ports.js';
import type { Reporter } from './reporter.js';

export interface RunLocks {
  /** Takes the lock of `command` on `scope`, or says who holds it. */
  acquire(command: string, scope: string): Promise<HeldLock | { heldBy: LockHolder }>;
}

export function lockFile(dbPath: string, command: string, scope: string): string {
  const hash = crypto.createHash('sha1').update(scope).digest('hex').slice(0, 10);
  return `${path.resolve(dbPath)}.${command}-${hash}.lock`;
}

/** Lock files next to a SQLite database. */
export function fileRunLocks(dbPath: string): RunLocks {
  return { acquire: async (command, scope) => acquireLockFile(lockFile(dbPath, command, scope), command, scope) };
}

export function lockMessage(holder: LockHolder, dbPath: string): string {
  const expiry = `${DEFAULT_LOCK_TIMING.expiryMs / 1000} s`;
  let who: string;
  if (holder.pid <= 0) {
    who = `the lock file is not one emomo wrote; it counts as stale ${expiry} after it last changed`;
  } else {
    const where = holder.host === os.hostname() ? '' : ` on ${holder.host}`;
    const beat = holder.quietMs !== undefined ? `; last heartbeat ${Math.round(holder.quietMs / 1000)} s ago` : '';
    who = `pid ${holder.pid}${where}, since ${holder.started}; ${holder.scope}${beat}`;
  }
  return `another emomo ${holder.command} is running on ${dbPath} (${who}); this run exits. Use --no-lock to run anyway`;
}

/**
 * Runs a command body holding its lock (unless `enabled` is false). When the
 * lock is held by a live run, logs who holds it and returns ExitCode.locked.
 */
export async function runLocked(
  enabled: boolean,
  target: { dbPath: string; command: string; scope: string; server?: ServerRunLocks },
  reporter: Reporter,
  body: () => Promise<number>,
): Promise<number> {
  if (!enabled) return body();
  const lock = target.server
    ? await target.server.acquireRunLock(target.command, target.scope)
    : await fileRunLocks(target.dbPath).acquire(target.command, target.scope);
  if ('heldBy' in lock) {
    reporter.log('error', lockMessage(lock.heldBy, target.dbPath));
    return ExitCode.locked;
  }
  try {
    return await body();
  } finally {
    await lock.release();
  }
}
