import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { acquireLockFile, liveLockHolder, type HeldLock, type LockHolder, type LockTiming } from '../../src/lock-file.js';
import { processStart, thisProcess } from '../../src/process-identity.js';

const TIMING: LockTiming = { heartbeatMs: 40, expiryMs: 2_000 };

function lockPath(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-lock-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'run.lock');
}

function take(file: string, timing = TIMING): HeldLock {
  const lock = acquireLockFile(file, 'ingest', 'source x', timing);
  assert.ok(!('heldBy' in lock), `expected to take the lock, held by ${JSON.stringify('heldBy' in lock && lock.heldBy)}`);
  return lock;
}

function heldBy(file: string, timing = TIMING): LockHolder {
  const lock = acquireLockFile(file, 'ingest', 'source x', timing);
  assert.ok('heldBy' in lock, 'expected the lock to be held');
  return lock.heldBy;
}

/** Writes a lock as another process would have, its heartbeat `ageMs` old. */
function writeLock(file: string, holder: Partial<LockHolder>, ageMs = 0): void {
  fs.writeFileSync(file, JSON.stringify({ command: 'ingest', scope: 'source x', started: '2030-01-01T00:00:00.000Z', ...holder }));
  const when = new Date(Date.now() - ageMs);
  fs.utimesSync(file, when, when);
}

const me = thisProcess();

describe('lock files', () => {
  it('holds against a second taker while the holder runs; release frees it', (t) => {
    const file = lockPath(t);
    const lock = take(file);
    const holder = heldBy(file);
    assert.deepEqual([holder.pid, holder.host, holder.start], [process.pid, os.hostname(), me.start]);
    lock.release();
    assert.equal(fs.existsSync(file), false);
    take(file).release();
  });

  it('takes over at once a lock whose pid now belongs to another process (pid reuse)', (t) => {
    const file = lockPath(t);
    assert.ok(processStart(process.ppid), 'this test needs /proc');
    // The parent process is alive, but it is not the process that wrote this lock.
    writeLock(file, { ...me, pid: process.ppid, start: '1' });
    take(file).release();
  });

  it('takes over at once a lock whose pid is gone on this host', (t) => {
    const file = lockPath(t);
    writeLock(file, { host: os.hostname(), pid: 2147483646 });
    take(file).release();
  });

  it('judges by the heartbeat what it cannot check: other hosts, other containers, old lock files', (t) => {
    const file = lockPath(t);
    const cases: Array<[string, Partial<LockHolder>]> = [
      ['another host', { ...me, host: 'elsewhere' }],
      ['another container with this host name', { ...me, pidns: 'pid:[1]' }],
      ['a lock without a start time naming a live pid', { host: me.host, pid: process.ppid }],
    ];
    for (const [what, holder] of cases) {
      writeLock(file, holder, 100);
      assert.equal(heldBy(file).pid, holder.pid, `${what}: fresh heartbeat, held`);
      writeLock(file, holder, TIMING.expiryMs + 1_000);
      take(file).release();
    }
  });

  it('the holder keeps its heartbeat fresh, so it is never taken over while it runs', async (t) => {
    const file = lockPath(t);
    const lock = take(file);
    const old = new Date(Date.now() - 10 * TIMING.expiryMs);
    fs.utimesSync(file, old, old);
    await new Promise((r) => setTimeout(r, TIMING.heartbeatMs * 4));
    assert.ok(Date.now() - fs.statSync(file).mtimeMs < TIMING.expiryMs, 'heartbeat refreshed the mtime');
    // A process on another host (identity unknown) only has the heartbeat to go by: it sees a live lock.
    const content = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    fs.writeFileSync(file, JSON.stringify({ ...content, host: 'elsewhere' }));
    await new Promise((r) => setTimeout(r, TIMING.heartbeatMs * 3));
    assert.equal(liveLockHolder(file, TIMING)?.host, 'elsewhere');
    lock.release();
  });

  it('a lock file that is not ours is held until it is older than the expiry', (t) => {
    const file = lockPath(t);
    fs.writeFileSync(file, '');
    assert.equal(heldBy(file).pid, 0);
    const old = new Date(Date.now() - TIMING.expiryMs - 1_000);
    fs.utimesSync(file, old, old);
    take(file).release();
  });

  it('a lock path that cannot be a file is a usage error naming the path', (t) => {
    const file = lockPath(t);
    fs.mkdirSync(file);
    assert.throws(() => acquireLockFile(file, 'ingest', 'x', TIMING), (err: Error) => {
      assert.ok(err instanceof UsageError);
      assert.equal(err.message, `cannot use the lock file ${file}: it is a directory; remove it (or run with --no-lock)`);
      return true;
    });
    const underFile = path.join(path.dirname(file), 'plain', 'run.lock');
    fs.writeFileSync(path.dirname(underFile), 'x');
    assert.throws(() => acquireLockFile(underFile, 'ingest', 'x', TIMING), /cannot use the lock file .*: a parent of it is not a directory/);
  });

  it('release leaves a lock that another process took over in place', (t) => {
    const file = lockPath(t);
    const lock = take(file);
    writeLock(file, { ...me, token: 'someone-else' });
    lock.release();
    assert.ok(fs.existsSync(file));
  });
});
