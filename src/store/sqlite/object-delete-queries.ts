/**
 * The object-delete queue on SQLite (`pending_deletes`, see ObjectDeleteQueue
 * in ../ports.ts). Purge and repair record a delete before they do it; taking
 * a recorded delete checks again, in one immediate transaction, that no meme
 * refers to the object and that no live ingest claims the image, then leases
 * it. While the lease is live, `claimItems` treats the image as taken
 * (claims.ts), so an ingest cannot reuse an object that is about to go.
 */
import { ownerGone } from '../claim-owner.js';
import type { ObjectDeleteBatch } from '../ports.js';
import { DB_NOW, LEASE_END } from './claims.js';
import type { Db } from './database.js';

/** The md5 inside an object key `ab/<md5>.<ext>`, as SQL over a key column. */
export const KEY_MD5 = (column: string) => `substr(${column}, 4, 32)`;

/** Records the keys `select` returns (one column, `key`) as pending deletes; returns how many are new. */
export function queueObjectDeletes(db: Db, select: string, reason: string, params: unknown[] = []): number {
  return db
    .prepare(
      `INSERT OR IGNORE INTO pending_deletes (key, md5, reason)
       SELECT q.key, ${KEY_MD5('q.key')}, ? FROM (${select}) q`,
    )
    .run(reason, ...params).changes;
}

/** The owner of a live delete lease on the image, if another run is deleting its object right now. */
export function deletingOwner(db: Db, md5: string): string | undefined {
  const rows = db
    .prepare(`SELECT owner FROM pending_deletes WHERE md5 = ? AND owner IS NOT NULL AND expires_at > ${DB_NOW}`)
    .pluck()
    .all(md5) as string[];
  return rows.find((owner) => !ownerGone(owner));
}

export function takeObjectDeletes(db: Db, owner: string, after: string, limit: number, leaseMs: number): ObjectDeleteBatch {
  const page = db.prepare(
    `SELECT key, md5, owner, expires_at > ${DB_NOW} AS live FROM pending_deletes WHERE key > ? ORDER BY key LIMIT ?`,
  );
  const referenced = db.prepare('SELECT 1 FROM memes WHERE md5 = ? AND storage_key = ?').pluck();
  const claimers = db.prepare(`SELECT owner FROM item_claims WHERE md5 = ? AND expires_at > ${DB_NOW}`).pluck();
  const drop = db.prepare('DELETE FROM pending_deletes WHERE key = ?');
  const lease = db.prepare(`UPDATE pending_deletes SET owner = ?, expires_at = ${LEASE_END} WHERE key = ?`);
  return db
    .transaction((): ObjectDeleteBatch => {
      const rows = page.all(after, limit) as Array<{ key: string; md5: string; owner: string | null; live: number | null }>;
      const batch: ObjectDeleteBatch = { keys: [], inUse: 0, waiting: 0 };
      if (rows.length > 0) batch.last = rows[rows.length - 1]!.key;
      for (const row of rows) {
        if (row.owner && row.owner !== owner && row.live === 1 && !ownerGone(row.owner)) batch.waiting++;
        else if (referenced.get(row.md5, row.key)) {
          drop.run(row.key);
          batch.inUse++;
        } else if ((claimers.all(row.md5) as string[]).some((o) => !ownerGone(o))) batch.waiting++;
        else {
          lease.run(owner, leaseMs, row.key);
          batch.keys.push(row.key);
        }
      }
      return batch;
    })
    .immediate();
}

export function finishObjectDeletes(db: Db, owner: string, deleted: readonly string[]): void {
  const forget = db.prepare('DELETE FROM pending_deletes WHERE key = ? AND owner = ?');
  db.transaction(() => {
    for (const key of deleted) forget.run(key, owner);
    db.prepare('UPDATE pending_deletes SET owner = NULL, expires_at = NULL WHERE owner = ?').run(owner);
  }).immediate();
}

/** Extends every delete lease `owner` holds (part of the claim heartbeat). */
export function renewDeleteLeases(db: Db, owner: string, leaseMs: number): number {
  return db.prepare(`UPDATE pending_deletes SET expires_at = ${LEASE_END} WHERE owner = ?`).run(leaseMs, owner).changes;
}
