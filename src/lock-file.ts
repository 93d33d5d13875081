/**
 * Advisory lock files: a small JSON file holding the holder's pid, host,
 * command, scope and start time, created exclusively. A lock whose holder pid
 * is dead on this host (kill -9, a crash) is taken over; a second guard file
 * serialises takeovers so two runs that both saw the stale lock cannot each
 * delete the other's new one. Used for cron overlap (per command) and for the
 * crawler (per staging source).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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

/** True when the process exists (EPERM: it exists but belongs to someone else). */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock, or returns who holds it. */
export function acquireLockFile(file: string, command: string, scope: string): HeldLock | { heldBy: LockHolder } {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const me: LockHolder = { pid: process.pid, host: os.hostname(), command, scope, started: new Date().toISOString() };
  for (let tries = 0; tries < 3; tries++) {
    if (create(file, me)) return held(file, me);
    const holder = readLockHolder(file);
    if (holder && !isStale(holder)) return { heldBy: holder };
    takeOver(file, holder);
  }
  const holder = readLockHolder(file);
  return holder ? { heldBy: holder } : { heldBy: { ...me, pid: 0, started: 'unknown' } };
}

/** The live holder of a lock, or undefined when there is none (or it is stale). */
export function liveLockHolder(file: string): LockHolder | undefined {
  const holder = readLockHolder(file);
  return holder && !isStale(holder) ? holder : undefined;
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

function readLockHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return undefined; // gone meanwhile, or half-written by a crash
  }
}

function isStale(holder: LockHolder): boolean {
  return holder.host === os.hostname() && !isPidAlive(holder.pid);
}

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
    const now = readLockHolder(file);
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
      const holder = readLockHolder(file);
      if (holder && holder.pid === me.pid && holder.started === me.started) fs.rmSync(file, { force: true });
    },
  };
}
