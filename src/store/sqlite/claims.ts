/**
 * Item claims on SQLite. Overlapping runs share one file, so the database is
 * where they agree on who works on what: a claim is keyed by (md5,
 * collection), taken before any provider is paid, and held under a lease
 * measured on the database's clock (`strftime('now')`). It ends when its
 * owner releases it, when the lease expires, or at once when its owner's
 * process is gone (same host, pid no longer alive), so a `kill -9` never
 * blocks the next run. An image whose object another run is deleting
 * right now (a live lease in pending_deletes) cannot be claimed until that
 * delete is finished. Job claims live in job-queries.ts.
 */
import { ownerGone } from '../claim-owner.js';
import type { Db } from './database.js';
import { deletingOwner, renewDeleteLeases } from './object-delete-queries.js';

/** The database clock, as stored in every *_at column. */
export const DB_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";
/** The database clock plus a lease given in ms as the statement's first `?` of this expression. */
export const LEASE_END = "strftime('%Y-%m-%dT%H:%M:%fZ','now', printf('%+.3f seconds', ? / 1000.0))";

/** Makes `emomo_owner_gone(owner)` available to SQL on this connection (idempotent). */
export function registerClaimFunctions(db: Db): void {
  db.function('emomo_owner_gone', { deterministic: false }, (owner: unknown) =>
    ownerGone(typeof owner === 'string' ? owner : null) ? 1 : 0,
  );
}

/** Claims as many of `md5s` as are free (or expired, or the owner's own) in one transaction; returns the ones now held. */
export function claimItems(db: Db, md5s: readonly string[], collection: string, owner: string, leaseMs: number): Set<string> {
  const held = db.prepare(
    `SELECT owner, expires_at > ${DB_NOW} AS live FROM item_claims WHERE md5 = ? AND collection = ?`,
  );
  const take = db.prepare(
    `INSERT INTO item_claims (md5, collection, owner, expires_at) VALUES (?, ?, ?, ${LEASE_END})
     ON CONFLICT (md5, collection) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
       created_at = ${DB_NOW}`,
  );
  return db
    .transaction((): Set<string> => {
      const got = new Set<string>();
      for (const md5 of md5s) {
        const row = held.get(md5, collection) as { owner: string; live: number } | undefined;
        if (row && row.owner !== owner && row.live === 1 && !ownerGone(row.owner)) continue;
        if (deletingOwner(db, md5) !== undefined) continue;
        take.run(md5, collection, owner, leaseMs);
        got.add(md5);
      }
      return got;
    })
    .immediate();
}

/** Extends every item claim, job claim and object-delete lease `owner` still holds to `leaseMs` from now. */
export function renewClaims(db: Db, owner: string, leaseMs: number): number {
  return db
    .transaction(
      () =>
        db
          .prepare(`UPDATE item_claims SET expires_at = ${LEASE_END} WHERE owner = ?`)
          .run(leaseMs, owner).changes +
        db
          .prepare(
            `UPDATE jobs SET claim_expires_at = ${LEASE_END}
             WHERE claimed_by = ? AND status = 'processing'`,
          )
          .run(leaseMs, owner).changes +
        renewDeleteLeases(db, owner, leaseMs),
    )
    .immediate();
}

/** Ends this owner's claims on the given images (another owner's claim is never touched). */
export function releaseItems(db: Db, md5s: readonly string[], collection: string, owner: string): void {
  const del = db.prepare('DELETE FROM item_claims WHERE md5 = ? AND collection = ? AND owner = ?');
  db.transaction(() => {
    for (const md5 of md5s) del.run(md5, collection, owner);
  }).immediate();
}
