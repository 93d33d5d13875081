/**
 * Who holds a claim: `host/pid/random`, one per run. Every backend stores it
 * with each claim; on the same host a backend may also notice that the
 * owner's process is gone and end its claims at once instead of waiting for
 * the lease to expire.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import { isPidAlive } from '../lock-file.js';

/** Identifies this process as a claim owner: `host/pid/random`. */
export function newOwnerId(): string {
  return `${os.hostname()}/${process.pid}/${crypto.randomBytes(4).toString('hex')}`;
}

/** True when the owner ran on this host and its process has exited. Owners on other hosts are trusted until expiry. */
export function ownerGone(owner: string | null | undefined): boolean {
  if (!owner) return true;
  const [host, pid] = owner.split('/');
  return host === os.hostname() && !isPidAlive(Number(pid));
}
