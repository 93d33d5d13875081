/**
 * Who a process is, precisely enough to tell whether the process that wrote
 * a lock (or a claim) is still the one running. A pid alone is not enough:
 * pids are reused, a container restarted after an OOM kill starts numbering
 * again in a new pid namespace, and a rebooted machine starts over. So an
 * identity also carries, where Linux tells us, the boot id, the pid namespace
 * and the process start time (`/proc/<pid>/stat` field 22, clock ticks since
 * boot). When those cannot be compared the answer is "unknown" and the caller
 * falls back on something else (a lock's heartbeat).
 */
import fs from 'node:fs';
import os from 'node:os';

export interface ProcessIdentity {
  host: string;
  pid: number;
  /** Kernel boot id: pids and start times only compare within one boot. */
  boot?: string;
  /** pid namespace (one per container): pids only compare within one namespace. */
  pidns?: string;
  /** Start time of the process, in clock ticks since boot: tells a reused pid apart. */
  start?: string;
}

export type ProcessState = 'alive' | 'gone' | 'unknown';

let self: ProcessIdentity | undefined;

/** This process. */
export function thisProcess(): ProcessIdentity {
  if (!self) {
    self = { host: os.hostname(), pid: process.pid };
    const boot = readText('/proc/sys/kernel/random/boot_id');
    const pidns = readLink('/proc/self/ns/pid');
    const start = processStart(process.pid);
    if (boot) self.boot = boot;
    if (pidns) self.pidns = pidns;
    if (start) self.start = start;
  }
  return self;
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

/**
 * Whether the process `id` names still runs: `gone` when it provably does not
 * (its pid is free, or now belongs to a process started at another time),
 * `alive` when it provably does, `unknown` when this process cannot tell
 * (another host, boot or container, or no start time to compare).
 */
export function processState(id: ProcessIdentity): ProcessState {
  const me = thisProcess();
  if (id.host !== me.host) return 'unknown';
  if (id.boot && me.boot && id.boot !== me.boot) return 'unknown';
  if (id.pidns && me.pidns && id.pidns !== me.pidns) return 'unknown';
  if (!isPidAlive(id.pid)) return 'gone';
  if (!id.start || !me.start) return 'unknown';
  const start = processStart(id.pid);
  if (!start) return 'unknown';
  return start === id.start ? 'alive' : 'gone';
}

/** Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses. */
export function processStart(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is fields[19].
  const start = fields[19];
  return start && /^\d+$/.test(start) ? start : undefined;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function readLink(file: string): string | undefined {
  try {
    return fs.readlinkSync(file);
  } catch {
    return undefined;
  }
}
