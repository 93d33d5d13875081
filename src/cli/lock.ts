/**
 * The advisory lock that makes an overlapping cron run exit at once instead of
 * queueing behind the one still running. A lock is a small JSON file next to
 * the database (holder's pid, host, start time), one per command and scope:
 * `ingest` locks per source, `retry-pending` and `embed` per collection, so
 * different jobs still run side by side (item claims keep them from doing the
 * same work twice). A lock whose holder pid is dead on this host is taken over.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExitCode } from '../errors.js';
import { isPidAlive } from '../store/claims.js';
import type { Reporter } from './reporter.js';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  scope: string;
  started: string;
}

export interface HeldLock {
  file: string;
  release(): void;
}

export function lockFile(dbPath: string, command: string, scope: string): string {
  const hash = crypto.createHash('sha1').update(scope).digest('hex').slice(0, 10);
  return `${path.resolve(dbPath)}.${command}-${hash}.lock`;
}

/** Takes the lock, or returns who holds it. */
export function acquireLock(dbPath: string, command: string, scope: string): HeldLock | { heldBy: LockHolder } {
  const file = lockFile(dbPath, command, scope);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const me: LockHolder = { pid: process.pid, host: os.hostname(), command, scope, started: new Date().toISOString() };
  for (let tries = 0; tries < 3; tries++) {
    if (create(file, me)) return held(file, me);
    const holder = readHolder(file);
    if (holder && !isStale(holder)) return { heldBy: holder };
    takeOver(file, holder);
  }
  const holder = readHolder(file);
  return holder ? { heldBy: holder } : { heldBy: { ...me, pid: 0, started: 'unknown' } };
}

function create(file: string, me: LockHolder): boolean {
  try {
    fs.writeFileSync(file, JSON.stringify(me) + '\n', { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return undefined; // gone meanwhile, or half-written by a crash
  }
}

function isStale(holder: LockHolder): boolean {
  return holder.host === os.hostname() && !isPidAlive(holder.pid);
}

/**
 * Removes a stale (or unreadable) lock. A second file serialises takeovers so
 * two runs that both saw the stale lock cannot each delete the other's new one.
 */
function takeOver(file: string, seen: LockHolder | undefined): void {
  const guard = `${file}.takeover`;
  try {
    fs.writeFileSync(guard, String(process.pid), { flag: 'wx' });
  } catch {
    // Someone else is taking over; a guard left by a crash expires after 10 s.
    const age = Date.now() - (fs.statSync(guard, { throwIfNoEntry: false })?.mtimeMs ?? 0);
    if (age > 10_000) fs.rmSync(guard, { force: true });
    return;
  }
  try {
    const now = readHolder(file);
    const same = JSON.stringify(now) === JSON.stringify(seen);
    if (same && (!now || isStale(now))) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

function held(file: string, me: LockHolder): HeldLock {
  return {
    file,
    release: () => {
      const holder = readHolder(file);
      if (holder && holder.pid === me.pid && holder.started === me.started) fs.rmSync(file, { force: true });
    },
  };
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
  target: { dbPath: string; command: string; scope: string },
  reporter: Reporter,
  body: () => Promise<number>,
): Promise<number> {
  if (!enabled || target.dbPath === ':memory:') return body();
  const lock = acquireLock(target.dbPath, target.command, target.scope);
  if ('heldBy' in lock) {
    reporter.log('error', lockMessage(lock.heldBy, target.dbPath));
    return ExitCode.locked;
  }
  try {
    return await body();
  } finally {
    lock.release();
  }
}
