/**
 * What happens to a failed item: permanent failures (corrupt image,
 * unsupported format, a path outside the staging folder) are dead at once;
 * transient ones are retried later with exponential backoff and full jitter
 * (1 s, 2 s, 4 s … capped), until `maxAttempts` is reached. Pure: the clock
 * and the random source are parameters.
 */
import type { JobSchedule } from '../store/store.js';

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
  const delay = Math.round(random() * backoffCeiling(attempt, policy));
  return { status: 'failed', nextRetryAt: new Date(now.getTime() + delay) };
}
