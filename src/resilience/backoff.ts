/**
 * How long to wait before trying again, for every retry in emomo: one
 * exponential ceiling (base · 2^(n-1), capped) and two ways of drawing under it.
 *
 * - Within a run (provider calls, storage, the crawler, a requeued item):
 *   FULL jitter, a uniformly random delay between 0 and the ceiling, so many
 *   workers hitting the same 429 do not come back in lock-step. A server's
 *   Retry-After is a floor the delay never goes under.
 * - Across runs (the jobs table, `retry-pending`): EQUAL jitter, between half
 *   the ceiling and the ceiling, so retries spread out yet always back off;
 *   after `maxAttempts` attempts, or at once for a permanent failure, the job
 *   is dead.
 *
 *   failed item ─▶ job `failed` (next_retry_at) ─▶ retry-pending claims it
 *   (`processing`) ─▶ `done` | `failed` again | `dead`
 *
 * Pure: the random source and the time are parameters.
 */

export interface BackoffPolicy {
  /** Ceiling of the first retry's delay. */
  baseDelayMs: number;
  /** No ceiling grows past this. */
  maxDelayMs: number;
}

/** How patiently one operation is retried within a run. */
export interface RetryPolicy extends BackoffPolicy {
  /** Retries after the first attempt (0 = never retry). */
  retries: number;
  /** Longest Retry-After honoured; a longer one ends the attempt (or, for a provider, the run). */
  maxRetryAfterMs: number;
}

/** Provider calls: 0.5 s, 1 s, 2 s … at most 30 s; Retry-After up to 2 minutes. */
export const defaultProviderBackoff: BackoffPolicy = { baseDelayMs: 500, maxDelayMs: 30_000 };
export const DEFAULT_MAX_RETRY_AFTER_MS = 120_000;

/** The ceiling of the delay after `attempt` failures (attempt 1 → base). */
export function backoffCeiling(attempt: number, policy: BackoffPolicy): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
}

/** Delay before retry number `retry` (1 = the first retry): full jitter, at least `retryAfterMs` when given. */
export function retryDelayMs(
  retry: number,
  policy: BackoffPolicy,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const jittered = Math.floor(random() * backoffCeiling(retry, policy));
  return Math.max(jittered, Math.ceil(retryAfterMs ?? 0));
}

/** How a failed item is scheduled across runs. */
export interface FailurePolicy extends BackoffPolicy {
  maxAttempts: number;
}

/** 1 s, 2 s, 4 s … capped at an hour; dead after 6 attempts. */
export const defaultFailurePolicy: FailurePolicy = { maxAttempts: 6, baseDelayMs: 1000, maxDelayMs: 60 * 60 * 1000 };

/** What becomes of a job after its `attempt`-th failure (same shape as the store's JobSchedule). */
export type FailureSchedule = { status: 'failed'; nextRetryAt: Date } | { status: 'dead'; nextRetryAt: null };

export function scheduleAfterFailure(
  attempt: number,
  permanent: boolean,
  policy: FailurePolicy,
  now: Date,
  random: () => number = Math.random,
): FailureSchedule {
  if (permanent || attempt >= policy.maxAttempts) return { status: 'dead', nextRetryAt: null };
  const ceiling = backoffCeiling(attempt, policy);
  const delay = Math.round(ceiling / 2 + random() * (ceiling / 2));
  return { status: 'failed', nextRetryAt: new Date(now.getTime() + delay) };
}
