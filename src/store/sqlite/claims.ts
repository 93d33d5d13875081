/**
 * Cross-process claims. Overlapping cron runs share one SQLite file, so the
 * database is where they agree on who works on what: an item claim is keyed
 * by (md5, collection) and taken before any provider is paid; a job claim
 * marks a jobs row `processing` for one retry run. A claim ends when its owner
 * releases it, when it expires, or at once when its owner's process is gone
 * (same host, pid no longer alive), so a `kill -9` never blocks the next run.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import { isPidAlive } from '../../lock-file.js';
import type { Db } from './database.js';

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

/** Makes `emomo_owner_gone(owner)` available to SQL on this connection (idempotent). */
export function registerClaimFunctions(db: Db): void {
  db.function('emomo_owner_gone', { deterministic: false }, (owner: unknown) =>
    ownerGone(typeof owner === 'string' ? owner : null) ? 1 : 0,
  );
}

/**
 * Takes the claim on (md5, collection) unless a live owner holds an unexpired
 * one. Returns true when this owner now holds it (re-entrant for the same owner).
 */
export function claimItem(db: Db, md5: string, collection: string, owner: string, now: Date, ttlMs: number): boolean {
  return db
    .transaction((): boolean => {
      const held = db.prepare('SELECT owner, expires_at FROM item_claims WHERE md5 = ? AND collection = ?').get(md5, collection) as
        | { owner: string; expires_at: string }
        | undefined;
      if (held && held.owner !== owner && held.expires_at > now.toISOString() && !ownerGone(held.owner)) return false;
      db.prepare(
        `INSERT INTO item_claims (md5, collection, owner, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (md5, collection) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
           created_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')`,
      ).run(md5, collection, owner, new Date(now.getTime() + ttlMs).toISOString());
      return true;
    })
    .immediate();
}

/** Claims as many of `md5s` as possible in one transaction; returns the ones now held. */
export function claimItems(db: Db, md5s: readonly string[], collection: string, owner: string, now: Date, ttlMs: number): Set<string> {
  return db
    .transaction((): Set<string> => {
      const got = new Set<string>();
      for (const md5 of md5s) if (claimItem(db, md5, collection, owner, now, ttlMs)) got.add(md5);
      return got;
    })
    .immediate();
}

/** Ends this owner's claims on the given images (another owner's claim is never touched). */
export function releaseItems(db: Db, md5s: readonly string[], collection: string, owner: string): void {
  const del = db.prepare('DELETE FROM item_claims WHERE md5 = ? AND collection = ? AND owner = ?');
  db.transaction(() => {
    for (const md5 of md5s) del.run(md5, collection, owner);
  }).immediate();
}
