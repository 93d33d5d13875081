/**
 * What happens to a failed item: permanent failures (corrupt image,
 * unsupported format, a path outside the staging folder) are dead at once;
 * transient ones (timeouts, 429, 5xx, network, a file that is missing for
 * now) are retried later with exponential backoff (1 s, 2 s, 4 s … capped)
 * and "equal jitter": the delay after attempt n lies between half of its
 * ceiling and the ceiling, so retries spread out yet always back off. After
 * `maxAttempts` attempts the job is dead. Pure: the clock and the random
 * source are parameters.
 *
 *   failed item ─▶ job `failed` (next_retry_at) ─▶ retry-pending claims it
 *   (`processing`) ─▶ `done` | `failed` again | `dead`
 */
import type { JobSchedule } from '../store/ports.js';

export interface FailurePolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultFailurePolicy: FailurePolicy = { maxAttempts: 6, baseDelayMs: 1000, maxDelayMs: 60 * 60 * 1000 };

/** The ceiling of the backoff after `attempt` failures (attempt 1 → base). */
export function backoffCeiling(attempt: number, policy: FailurePolicy): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
}

export function scheduleAfterFailure(
  attempt: number,
  permanent: boolean,
  policy: FailurePolicy,
  now: Date,
  random: () => number = Math.random,
): JobSchedule {
  if (permanent || attempt >= policy.maxAttempts) return { status: 'dead', nextRetryAt: null };
  const ceiling = backoffCeiling(attempt, policy);
  const delay = Math.round(ceiling / 2 + random() * (ceiling / 2));
  return { status: 'failed', nextRetryAt: new Date(now.getTime() + delay) };
}
