/**
 * The jobs table as a work queue shared by many machines (see
 * src/pipeline/failure-policy.ts for the lifecycle). A claim is one
 * statement: the due rows are picked `FOR UPDATE SKIP LOCKED` (a row another
 * worker is claiming at this instant is passed over, never waited for, never
 * handed out twice) and flipped to `processing` under a lease on the
 * database's clock. A dead worker's jobs are due again once its lease runs out.
 */
import { jobKey, REASON_LIMIT } from '../job-key.js';
import type { ClaimedJob, FailureInput, JobCounts, JobFilter, JobPayload, JobSchedule, JobStatus } from '../ports.js';
import type { Sql } from './sql.js';

/**
 * The end of a lease of `$n` ms granted by this statement: from the
 * statement's own clock, not the transaction's start (`now()`), so time the
 * transaction spent waiting for a lock does not shorten the lease.
 */
export const leaseEnd = (n: number) => `clock_timestamp() + $${n} * interval '1 millisecond'`;

/** The body of the failure transaction: the job row is locked, so concurrent failures of one item count up. */
export async function recordFailure(sql: Sql, f: FailureInput, schedule: (attempt: number) => JobSchedule): Promise<JobSchedule & { attempt: number }> {
  const key = jobKey(f.sourceType, f.sourceId, f.collection);
  // A job that does not exist yet cannot be locked; the key's advisory lock stands in for it.
  await sql.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`emomo job ${key}`]);
  const { rows } = await sql.query<{ attempts: number; status: string }>('SELECT attempts, status FROM jobs WHERE idempotency_key = $1', [key]);
  const prev = rows[0];
  // A job that succeeded once and fails again later starts a new count.
  const attempt = (prev && prev.status !== 'done' ? prev.attempts : 0) + 1;
  const next = schedule(attempt);
  await sql.query(
    `INSERT INTO jobs (idempotency_key, source_type, source_id, collection, path, stage, reason, attempts, status, next_retry_at, payload)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)
     ON CONFLICT (idempotency_key) DO UPDATE SET
       path = excluded.path, stage = excluded.stage, reason = excluded.reason, attempts = excluded.attempts,
       status = excluded.status, next_retry_at = excluded.next_retry_at,
       payload = coalesce(excluded.payload, jobs.payload), claimed_by = NULL, claim_expires_at = NULL, updated_at = now()`,
    [
      key, f.sourceType, f.sourceId, f.collection, f.path ?? null, f.stage, f.reason.slice(0, REASON_LIMIT), attempt,
      next.status, next.nextRetryAt, f.payload ? JSON.stringify(f.payload) : null,
    ],
  );
  return { ...next, attempt };
}

/** Marks the job of an item done (no-op when it has none). */
export async function markJobDone(sql: Sql, sourceType: string, sourceId: string, collection: string): Promise<void> {
  await sql.query(
    `UPDATE jobs SET status = 'done', next_retry_at = NULL, claimed_by = NULL, claim_expires_at = NULL, updated_at = now()
     WHERE idempotency_key = $1 AND status <> 'done'`,
    [jobKey(sourceType, sourceId, collection)],
  );
}

interface JobRowSql {
  id: number;
  source_type: string;
  source_id: string;
  collection: string;
  path: string | null;
  stage: string;
  reason: string;
  attempts: number;
  status: JobStatus;
  next_retry_at: Date | null;
  payload: JobPayload | null;
}

const JOB_COLUMNS = 'id, source_type, source_id, collection, path, stage, reason, attempts, status, next_retry_at, payload';

export async function claimDueJobs(sql: Sql, filter: JobFilter, owner: string, leaseMs: number): Promise<ClaimedJob[]> {
  const { rows } = await sql.query<JobRowSql>(
    `WITH due AS (
       SELECT id, status AS before FROM jobs
       WHERE collection = $1 AND id > $2
         AND (   (status = 'failed' AND next_retry_at <= $3)
              OR status = 'pending'
              OR (status = 'processing' AND (claim_expires_at IS NULL OR claim_expires_at <= now()))
              OR ($4 AND status = 'dead'))
         AND ($5::text IS NULL OR strpos(lower(reason), lower($5)) > 0)
       ORDER BY id LIMIT $6
       FOR UPDATE SKIP LOCKED)
     UPDATE jobs j SET status = 'processing', claimed_by = $7, claim_expires_at = ${leaseEnd(8)}, updated_at = now()
     FROM due WHERE j.id = due.id
     RETURNING j.id, j.source_type, j.source_id, j.collection, j.path, j.stage, j.reason, j.attempts,
               due.before AS status, j.next_retry_at, j.payload`,
    [filter.collection, filter.afterId, filter.now, filter.includeDead, filter.reason ?? null, filter.limit, owner, leaseMs],
  );
  return rows.sort((a, b) => a.id - b.id).map(toClaimed);
}

/** Gives back the jobs this owner claimed but never finished: `pending`, due at once, attempts unchanged. */
export async function releaseJobClaims(sql: Sql, owner: string): Promise<number> {
  const { rowCount } = await sql.query(
    `UPDATE jobs SET status = 'pending', claimed_by = NULL, claim_expires_at = NULL, updated_at = now()
     WHERE claimed_by = $1 AND status = 'processing'`,
    [owner],
  );
  return rowCount ?? 0;
}

export async function countJobs(sql: Sql, collection: string, now: Date): Promise<JobCounts> {
  const counts: JobCounts = { pending: 0, processing: 0, done: 0, failed: 0, dead: 0, due: 0 };
  const { rows } = await sql.query<{ status: JobStatus; n: number; due: number }>(
    `SELECT status, count(*) AS n,
            count(*) FILTER (WHERE (status = 'failed' AND next_retry_at <= $2) OR status = 'pending') AS due
     FROM jobs WHERE collection = $1 GROUP BY status`,
    [collection, now],
  );
  for (const row of rows) {
    counts[row.status] = row.n;
    counts.due += row.due;
  }
  return counts;
}

export async function findJob(sql: Sql, sourceType: string, sourceId: string, collection: string): Promise<ClaimedJob | undefined> {
  const { rows } = await sql.query<JobRowSql>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE idempotency_key = $1`, [jobKey(sourceType, sourceId, collection)]);
  return rows[0] && toClaimed(rows[0]);
}

function toClaimed(row: JobRowSql): ClaimedJob {
  return {
    id: row.id,
    sourceType: row.source_type,
    sourceId: row.source_id,
    collection: row.collection,
    path: row.path ?? undefined,
    stage: row.stage,
    reason: row.reason,
    attempts: row.attempts,
    status: row.status,
    nextRetryAt: row.next_retry_at?.toISOString(),
    payload: row.payload ?? undefined,
  };
}
