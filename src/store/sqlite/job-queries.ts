/**
 * The jobs table as a small work queue (see src/resilience/backoff.ts for
 * the lifecycle). Claiming is one immediate transaction: the due rows are
 * selected and flipped to `processing` with this run's owner and a lease on
 * the database clock, so two retry runs never take the same job, and a
 * crashed run's jobs come back once its lease expires or its process is gone.
 */
import type { ClaimedJob, FailureInput, JobCounts, JobFilter, JobPayload, JobSchedule, JobStatus } from '../ports.js';
import { jobKey, REASON_LIMIT } from '../job-key.js';
import { DB_NOW, LEASE_END } from './claims.js';
import type { Db } from './database.js';

export { jobKey };

/** Upserts the job of a failed item; `schedule` turns its attempt number into the next state. */
export function recordFailure(
db: Db,
f: FailureInput,
schedule: (attempt: number) => JobSchedule,
): JobSchedule & { attempt: number } {
  return db
    .transaction(() => {
      const key = jobKey(f.sourceType, f.sourceId, f.collection);
      const prev = db.prepare('SELECT attempts, status FROM jobs WHERE idempotency_key = ?').get(key) as
        | { attempts: number; status: string }
        | undefined;
      // A job that succeeded once and fails again later starts a new count.
      const attempt = (prev && prev.status !== 'done' ? prev.attempts : 0) + 1;
      const next = schedule(attempt);
      db
        .prepare(
          `INSERT INTO jobs (idempotency_key, source_type, source_id, collection, path, stage, reason, attempts,
                             status, next_retry_at, payload)
           VALUES (@key, @sourceType, @sourceId, @collection, @path, @stage, @reason, @attempt, @status, @next, @payload)
           ON CONFLICT (idempotency_key) DO UPDATE SET
             path = excluded.path, stage = excluded.stage, reason = excluded.reason, attempts = excluded.attempts,
             status = excluded.status, next_retry_at = excluded.next_retry_at,
             payload = coalesce(excluded.payload, payload), claimed_by = NULL, claim_expires_at = NULL,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')`,
        )
        .run({
          key,
          sourceType: f.sourceType,
          sourceId: f.sourceId,
          collection: f.collection,
          path: f.path ?? null,
          stage: f.stage,
          reason: f.reason.slice(0, REASON_LIMIT),
          attempt,
          status: next.status,
          next: next.nextRetryAt?.toISOString() ?? null,
          payload: f.payload ? JSON.stringify(f.payload) : null,
        });
      return { ...next, attempt };
    })
    .immediate();
}

/** Marks the job of an item done (no-op when it has none). */
export function markJobDone(db: Db, sourceType: string, sourceId: string, collection: string): void {
  db
    .prepare(
      `UPDATE jobs SET status = 'done', next_retry_at = NULL, claimed_by = NULL, claim_expires_at = NULL, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
       WHERE idempotency_key = ? AND status <> 'done'`,
    )
    .run(jobKey(sourceType, sourceId, collection));
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
  next_retry_at: string | null;
  payload: string | null;
}

export function claimDueJobs(db: Db, filter: JobFilter, owner: string, leaseMs: number): ClaimedJob[] {
  const now = filter.now.toISOString();
  return db
    .transaction((): ClaimedJob[] => {
      const rows = db
        .prepare(
          `SELECT id, source_type, source_id, collection, path, stage, reason, attempts, status, next_retry_at, payload
           FROM jobs
           WHERE collection = @collection AND id > @afterId
             AND (   (status = 'failed' AND next_retry_at <= @now)
                  OR status = 'pending'
                  OR (status = 'processing'
                      AND (claim_expires_at IS NULL OR claim_expires_at <= ${DB_NOW} OR emomo_owner_gone(claimed_by)))
                  OR (@includeDead AND status = 'dead'))
             AND (@reason IS NULL OR instr(lower(reason), lower(@reason)) > 0)
           ORDER BY id LIMIT @limit`,
        )
        .all({
          collection: filter.collection,
          afterId: filter.afterId,
          now,
          includeDead: filter.includeDead ? 1 : 0,
          reason: filter.reason ?? null,
          limit: filter.limit,
        }) as JobRowSql[];
      const claim = db.prepare(
        `UPDATE jobs SET status = 'processing', claimed_by = ?, claim_expires_at = ${LEASE_END},
           updated_at = ${DB_NOW} WHERE id = ?`,
      );
      for (const row of rows) claim.run(owner, leaseMs, row.id);
      return rows.map(toClaimed);
    })
    .immediate();
}

/**
 * Gives back the jobs this owner claimed but never finished (the run was
 * stopped): they become `pending`, due at once, their attempts unchanged.
 */
export function releaseJobClaims(db: Db, owner: string): number {
  return db
    .prepare(
      `UPDATE jobs SET status = 'pending', claimed_by = NULL, claim_expires_at = NULL,
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
       WHERE claimed_by = ? AND status = 'processing'`,
    )
    .run(owner).changes;
}

/** How many jobs of a collection are in each state, and how many of the waiting ones are due now. */
export function countJobs(db: Db, collection: string, now: Date): JobCounts {
  const counts: JobCounts = { pending: 0, processing: 0, done: 0, failed: 0, dead: 0, due: 0 };
  const rows = db.prepare('SELECT status, count(*) AS n FROM jobs WHERE collection = ? GROUP BY status').all(collection) as Array<{
    status: JobStatus;
    n: number;
  }>;
  for (const row of rows) counts[row.status] = row.n;
  counts.due = (
    db
      .prepare(
        `SELECT count(*) AS n FROM jobs WHERE collection = ?
           AND ((status = 'failed' AND next_retry_at <= ?) OR status = 'pending')`,
      )
      .get(collection, now.toISOString()) as { n: number }
  ).n;
  return counts;
}

/** The job of one source item in one collection, if it ever failed. */
export function findJob(db: Db, key: string): ClaimedJob | undefined {
  const row = db
    .prepare(
      `SELECT id, source_type, source_id, collection, path, stage, reason, attempts, status, next_retry_at, payload
       FROM jobs WHERE idempotency_key = ?`,
    )
    .get(key) as JobRowSql | undefined;
  return row && toClaimed(row);
}

function toClaimed(row: JobRowSql): ClaimedJob {
  let payload: JobPayload | undefined;
  if (row.payload) payload = JSON.parse(row.payload) as JobPayload;
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
    nextRetryAt: row.next_retry_at ?? undefined,
    payload,
  };
}
