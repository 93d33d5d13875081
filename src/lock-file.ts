/**
 * Advisory lock files: a small JSON file naming the holder (host, pid, boot
 * id, pid namespace, process start time, command, scope), created whole and
 * exclusively (written aside, then hard-linked into place). The holder keeps
 * the file's mtime fresh (the heartbeat) while it runs.
 *
 * A lock is stale, and taken over, when its holder provably no longer runs
 * (see src/process-identity.ts: the pid is free, or was reused by a process
 * started at another time), or, when that cannot be known (written on another
 * host, in another container, or by a version that stored no start time),
 * when its heartbeat is older than `expiryMs`. A second guard file serialises
 * takeovers so two runs that both saw the stale lock cannot each delete the
 * other's new one. A lock path that cannot be used (a folder, no permission)
 * is a UsageError naming the path. Used for cron overlap (per command) and for
 * the crawler (per staging source).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './errors.js';
import { processState, thisProcess, type ProcessIdentity } from './process-identity.js';

export { isPidAlive } from './process-identity.js';

export interface LockHolder extends ProcessIdentity {
  command: string;
  scope: string;
  started: string;
  /** Tells this lock apart from a later one by the same process. */
  token?: string;
  /** Milliseconds since the last heartbeat (from the file's mtime), when known. */
  quietMs?: number;
}

export interface HeldLock {
  file: string;
  release(): void;
}

export interface LockTiming {
  /** How often the holder refreshes its heartbeat. */
  heartbeatMs: number;
  /** A holder that cannot be checked otherwise is stale after this long without a heartbeat. */
  expiryMs: number;
}

export const DEFAULT_LOCK_TIMING: LockTiming = { heartbeatMs: 15_000, expiryMs: 120_000 };

/** A takeover guard left by a crash is ignored after this long. */
const GUARD_EXPIRY_MS = 10_000;

/** Takes the lock, or returns who holds it. Throws a UsageError when the lock path cannot be used. */
export function acquireLockFile(
  file: string,
  command: string,
  scope: string,
  timing: LockTiming = DEFAULT_LOCK_TIMING,
): HeldLock | { heldBy: LockHolder } {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch (err) {
    // EEXIST from a recursive mkdir: a file stands where a folder should be.
    throw lockPathError(file, (err as NodeJS.ErrnoException).code === 'EEXIST' ? Object.assign(err as Error, { code: 'ENOTDIR' }) : err);
  }
  const me: LockHolder = { ...thisProcess(), command, scope, started: new Date().toISOString(), token: crypto.randomBytes(8).toString('hex') };
  for (let tries = 0; tries < 3; tries++) {
    if (create(file, me)) return held(file, me, timing);
    const holder = readLockHolder(file, command, scope);
    if (holder && !isStale(holder, timing)) return { heldBy: holder };
    takeOver(file, holder, command, scope, timing);
  }
  return { heldBy: readLockHolder(file, command, scope) ?? unknownHolder(command, scope) };
}

/** The live holder of a lock, or undefined when there is none (or it is stale). */
export function liveLockHolder(file: string, timing: LockTiming = DEFAULT_LOCK_TIMING): LockHolder | undefined {
  const holder = readLockHolder(file, '', '');
  return holder && !isStale(holder, timing) ? holder : undefined;
}

/** Runs a file system call on the lock path, turning "this path cannot be a lock" into a UsageError. */
function guarded<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw lockPathError(file, err);
  }
}

/** A UsageError naming the path when `err` says the lock path cannot be used; else `err` itself. */
function lockPathError(file: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'EISDIR' ? 'it is a directory; remove it'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : code === 'EROFS' ? 'the file system is read-only'
    : code === 'ENOTDIR' ? 'a parent of it is not a directory'
    : undefined;
  return why ? new UsageError(`cannot use the lock file ${file}: ${why} (or run with --no-lock)`) : err;
}

/** Creates the lock file whole: written aside, then linked into place (fails when one exists). */
function create(file: string, me: LockHolder): boolean {
  const aside = `${file}.${me.token}.new`;
  guarded(file, () => fs.writeFileSync(aside, JSON.stringify(me) + '\n', { flag: 'wx' }));
  try {
    fs.linkSync(aside, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // File systems without hard links: an exclusive create (a reader may briefly see it empty).
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return createInPlace(file, me);
    throw lockPathError(file, err);
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

function createInPlace(file: string, me: LockHolder): boolean {
  try {
    fs.writeFileSync(file, JSON.stringify(me) + '\n', { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw lockPathError(file, err);
  }
}

/** The holder named in the file; a file that is not one of ours is held by an unknown process. */
function readLockHolder(file: string, command: string, scope: string): LockHolder | undefined {
  let text: string;
  let mtimeMs: number;
  try {
    mtimeMs = fs.statSync(file).mtimeMs;
    text = guarded(file, () => fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // released meanwhile
    throw err;
  }
  const quietMs = Math.max(0, Date.now() - mtimeMs);
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') {
      return { command, scope, started: 'unknown', ...parsed, pid: parsed.pid, host: parsed.host, quietMs };
    }
  } catch {
    // garbled: judged by its age alone
  }
  return { ...unknownHolder(command, scope), quietMs };
}

function unknownHolder(command: string, scope: string): LockHolder {
  return { pid: 0, host: 'unknown', command, scope, started: 'unknown' };
}

function isStale(holder: LockHolder, timing: LockTiming): boolean {
  const state = holder.pid > 0 ? processState(holder) : 'unknown';
  if (state !== 'unknown') return state === 'gone';
  return (holder.quietMs ?? 0) > timing.expiryMs;
}

function takeOver(file: string, seen: LockHolder | undefined, command: string, scope: string, timing: LockTiming): void {
  const guard = `${file}.takeover`;
  try {
    fs.writeFileSync(guard, String(process.pid), { flag: 'wx' });
  } catch {
    // Someone else is taking over; a guard left by a crash expires.
    const age = Date.now() - (fs.statSync(guard, { throwIfNoEntry: false })?.mtimeMs ?? 0);
    if (age > GUARD_EXPIRY_MS) fs.rmSync(guard, { force: true });
    return;
  }
  try {
    const now = readLockHolder(file, command, scope);
    const same = now !== undefined && seen !== undefined && sameLock(now, seen);
    if (same && isStale(now, timing)) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

function sameLock(a: LockHolder, b: LockHolder): boolean {
  return a.pid === b.pid && a.host === b.host && a.started === b.started && a.token === b.token;
}

function held(file: string, me: LockHolder, timing: LockTiming): HeldLock {
  const ours = () => {
    const holder = readLockHolder(file, me.command, me.scope);
    return holder !== undefined && holder.token === me.token;
  };
  const heartbeat = setInterval(() => {
    try {
      if (ours()) fs.utimesSync(file, new Date(), new Date());
      else clearInterval(heartbeat); // taken over after all: nothing of ours to refresh
    } catch {
      // a missed beat is harmless; the next one tries again
    }
  }, timing.heartbeatMs);
  heartbeat.unref();
  return {
    file,
    release: () => {
      clearInterval(heartbeat);
      if (ours()) fs.rmSync(file, { force: true });
    },
  };
}
