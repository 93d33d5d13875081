/**
 * Item claims on PostgreSQL: many machines agree on who describes and embeds
 * which image. A claim on (md5, collection) is one statement: the rows are
 * inserted, or taken over where the lease has run out (or is already this
 * owner's), and the rows another owner still holds come back untouched; an
 * image whose object a purge or repair is deleting (a live lease in
 * `pending_deletes`) is not claimable until the delete is done. Leases are
 * measured on the database's clock (`now()`), so hosts with skewed clocks
 * agree; the live owner extends them (`renewClaims`), and a dead one's run
 * out. Job claims live in job-queries.ts, delete leases in
 * object-delete-queries.ts.
 */
import { leaseEnd } from './job-queries.js';
import { DELETING } from './object-delete-queries.js';
import { lockImages, type Sql } from './sql.js';

/** The body of one transaction: claims as many of `md5s` as are free (or expired, or the owner's own). */
export async function claimItems(sql: Sql, md5s: readonly string[], collection: string, owner: string, leaseMs: number): Promise<Set<string>> {
  if (md5s.length === 0) return new Set();
  const sorted = [...new Set(md5s)].sort();
  await lockImages(sql, sorted);
  const { rows } = await sql.query<{ md5: string }>(
    `INSERT INTO item_claims (md5, collection, owner, expires_at)
     SELECT md5, $2, $3, ${leaseEnd(4)} FROM unnest($1::text[]) AS t (md5) WHERE NOT ${DELETING('t.md5')}
     ON CONFLICT (md5, collection) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, created_at = now()
       WHERE item_claims.owner = excluded.owner OR item_claims.expires_at <= now()
     RETURNING md5`,
    [sorted, collection, owner, leaseMs],
  );
  return new Set(rows.map((r) => r.md5));
}

/** The heartbeat: every item claim, job claim and delete lease the owner still holds lasts `leaseMs` from now. */
export async function renewClaims(sql: Sql, owner: string, leaseMs: number): Promise<number> {
  const { rows } = await sql.query<{ n: number }>(
    `WITH items AS (UPDATE item_claims SET expires_at = ${leaseEnd(2)} WHERE owner = $1 RETURNING 1),
          jobs AS (UPDATE jobs SET claim_expires_at = ${leaseEnd(2)} WHERE claimed_by = $1 AND status = 'processing' RETURNING 1),
          deletes AS (UPDATE pending_deletes SET expires_at = ${leaseEnd(2)} WHERE owner = $1 RETURNING 1)
     SELECT (SELECT count(*) FROM items) + (SELECT count(*) FROM jobs) + (SELECT count(*) FROM deletes) AS n`,
    [owner, leaseMs],
  );
  return rows[0]!.n;
}

/** Ends this owner's claims on the given images (another owner's claim is never touched). */
export async function releaseItems(sql: Sql, md5s: readonly string[], collection: string, owner: string): Promise<void> {
  if (md5s.length === 0) return;
  await sql.query('DELETE FROM item_claims WHERE md5 = ANY($1::text[]) AND collection = $2 AND owner = $3', [[...md5s], collection, owner]);
}
