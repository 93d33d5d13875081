/**
 * The advisory lock that makes an overlapping cron run exit at once instead of
 * queueing behind the one still running. A lock is a small JSON file next to
 * the database (holder's pid, host, start time), one per command and scope:
 * `ingest` locks per source, `retry-pending` and `embed` per collection, so
 * different jobs still run side by side (item claims keep them from doing the
 * same work twice). A lock whose holder pid is dead on this host is taken over.
 * A library on a database server (PostgreSQL) holds these locks itself, as
 * advisory locks shared by every machine and freed when the holder's session
 * ends; the store provides them (`ServerRunLocks`).
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { ExitCode } from '../errors.js';
import { acquireLockFile, type HeldLock, type LockHolder } from '../lock-file.js';
import type { ServerRunLocks } from '../store/ports.js';
import type { Reporter } from './reporter.js';

export function lockFile(dbPath: string, command: string, scope: string): string {
  const hash = crypto.createHash('sha1').update(scope).digest('hex').slice(0, 10);
  return `${path.resolve(dbPath)}.${command}-${hash}.lock`;
}

/** Takes the lock of a command on a database, or returns who holds it. */
export function acquireLock(dbPath: string, command: string, scope: string): HeldLock | { heldBy: LockHolder } {
  return acquireLockFile(lockFile(dbPath, command, scope), command, scope);
}

export function lockMessage(holder: LockHolder, dbPath: string): string {
  return (
    `another emomo ${holder.command} is running on ${dbPath} (pid ${holder.pid}, since ${holder.started}; ${holder.scope}); ` +
    `this run exits. Use --no-lock to run anyway`
  );
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
  if (!enabled || target.dbPath === ':memory:') return body();
  const lock = target.server
    ? await target.server.acquireRunLock(target.command, target.scope)
    : acquireLock(target.dbPath, target.command, target.scope);
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
