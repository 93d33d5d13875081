/**
 * The object-delete queue on PostgreSQL (`pending_deletes`, see
 * ObjectDeleteQueue in ../ports.ts). Purge and repair record a delete before
 * they do it; taking a recorded delete picks the rows `FOR UPDATE SKIP
 * LOCKED` (a row another run is taking right now is passed over) and checks
 * each again under its image lock (sql.ts): an object a meme refers to
 * again is never deleted, an image a live ingest claims is left for later,
 * and the lease taken keeps `claimItems` off the image until it is gone.
 */
import type { ObjectDeleteBatch } from '../ports.js';
import { leaseEnd } from './job-queries.js';
import { lockImages, type Sql } from './sql.js';

/** The md5 inside an object key `ab/<md5>.<ext>`, as SQL over a key column. */
export const KEY_MD5 = (column: string) => `substr(${column}, 4, 32)`;

/** A live lease of another run's delete holds the image of md5 expression `md5`. */
export const DELETING = (md5: string) =>
  `EXISTS (SELECT 1 FROM pending_deletes p WHERE p.md5 = ${md5} AND p.owner IS NOT NULL AND p.expires_at > now())`;

/** Records the keys `select` returns (one column, `key`) as pending deletes; returns how many are new. */
export async function queueObjectDeletes(sql: Sql, select: string, reason: string, params: unknown[] = []): Promise<number> {
  const { rowCount } = await sql.query(
    `INSERT INTO pending_deletes (key, md5, reason)
     SELECT q.key, ${KEY_MD5('q.key')}, $${params.length + 1} FROM (${select}) q
     ON CONFLICT (key) DO NOTHING`,
    [...params, reason],
  );
  return rowCount ?? 0;
}

/** The body of one transaction: re-checks and leases a page of recorded deletes. */
export async function takeObjectDeletes(sql: Sql, owner: string, after: string, limit: number, leaseMs: number): Promise<ObjectDeleteBatch> {
  const { rows } = await sql.query<{ key: string; md5: string; owner: string | null; live: boolean | null }>(
    `SELECT key, md5, owner, expires_at > now() AS live FROM pending_deletes WHERE key > $1 ORDER BY key LIMIT $2
     FOR UPDATE SKIP LOCKED`,
    [after, limit],
  );
  const batch: ObjectDeleteBatch = { keys: [], inUse: 0, waiting: 0 };
  if (rows.length === 0) return batch;
  batch.last = rows[rows.length - 1]!.key;
  await lockImages(sql, rows.map((r) => r.md5));
  for (const row of rows) {
    if (row.owner && row.owner !== owner && row.live) {
      batch.waiting++;
      continue;
    }
    const state = await sql.query<{ referenced: boolean; claimed: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM memes WHERE md5 = $1 AND storage_key = $2) AS referenced,
              EXISTS (SELECT 1 FROM item_claims WHERE md5 = $1 AND expires_at > now()) AS claimed`,
      [row.md5, row.key],
    );
    const { referenced, claimed } = state.rows[0]!;
    if (referenced) {
      await sql.query('DELETE FROM pending_deletes WHERE key = $1', [row.key]);
      batch.inUse++;
    } else if (claimed) {
      batch.waiting++;
    } else {
      await sql.query(`UPDATE pending_deletes SET owner = $1, expires_at = ${leaseEnd(2)} WHERE key = $3`, [owner, leaseMs, row.key]);
      batch.keys.push(row.key);
    }
  }
  return batch;
}

/** The body of one transaction: forgets the deletes done; the owner's other leases end. */
export async function finishObjectDeletes(sql: Sql, owner: string, deleted: readonly string[]): Promise<void> {
  if (deleted.length > 0) await sql.query('DELETE FROM pending_deletes WHERE key = ANY($1::text[]) AND owner = $2', [[...deleted], owner]);
  await sql.query('UPDATE pending_deletes SET owner = NULL, expires_at = NULL WHERE owner = $1', [owner]);
}
