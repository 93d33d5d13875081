/**
 * Cron-overlap locks on a PostgreSQL library: session-level advisory locks,
 * one per command and scope, shared by every machine using the library.
 * The server frees a lock when its session ends, however the holder died
 * (kill -9, a lost machine), so there is nothing stale to detect. Who holds
 * a lock comes from the server too: the holder's session names its host and
 * pid (application_name, see connection.ts).
 */
import { createHash } from 'node:crypto';
import type { HeldRunLock, RunLockHolder } from '../ports.js';
import type { PgPool } from './connection.js';

/** The lock's 64-bit key, as text (node-postgres sends it as a bigint). */
export function runLockKey(command: string, scope: string): string {
  return createHash('sha1').update(`emomo run lock\u0000${command}\u0000${scope}`).digest().readBigInt64BE(0).toString();
}

export async function acquireRunLock(pool: PgPool, command: string, scope: string): Promise<HeldRunLock | { heldBy: RunLockHolder }> {
  const key = runLockKey(command, scope);
  // The lock belongs to this connection's session: it is held (out of the pool) until released.
  const client = await pool.connect();
  let locked = false;
  try {
    locked = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key])).rows[0]!.ok;
  } finally {
    if (!locked) client.release();
  }
  if (!locked) return { heldBy: await lockHolder(pool, key, command, scope) };
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      try {
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
        client.release();
      } catch (err) {
        client.release(err instanceof Error ? err : true); // the session ends, and its lock with it
      }
    },
  };
}

async function lockHolder(pool: PgPool, key: string, command: string, scope: string): Promise<RunLockHolder> {
  const { rows } = await pool.query<{ application_name: string; backend_start: Date | null }>(
    `SELECT a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
       AND l.classid::bigint = ($1::bigint >> 32) & 4294967295 AND l.objid::bigint = $1::bigint & 4294967295
     LIMIT 1`,
    [key],
  );
  const row = rows[0];
  const [, host = 'unknown host', pid = '0'] = /^emomo (.*)\/(\d+)$/.exec(row?.application_name ?? '') ?? [];
  return { pid: Number(pid), host, command, scope, started: row?.backend_start?.toISOString() ?? 'unknown' };
}
