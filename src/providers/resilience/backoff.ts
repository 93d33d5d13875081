/**
 * How long to wait before retrying a provider call: exponential backoff with
 * FULL jitter (a uniformly random delay between 0 and the ceiling), so that
 * many workers hitting the same 429 do not come back in lock-step. A server's
 * Retry-After is a floor the delay never goes under. Pure: `random` is a parameter.
 */
import { backoffCeiling } from '../../pipeline/failure-policy.js';

export interface BackoffPolicy {
  /** Ceiling of the first retry's delay. */
  baseDelayMs: number;
  /** No delay's ceiling grows past this. */
  maxDelayMs: number;
}

export const defaultBackoff: BackoffPolicy = { baseDelayMs: 500, maxDelayMs: 30_000 };

/** Delay before retry number `retry` (1 = the first retry), at least `retryAfterMs` when given. */
export function retryDelayMs(
  retry: number,
  policy: BackoffPolicy,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  // Same ceiling as the failure policy across runs (base · 2^(n-1), capped); one formula, two scales.
  const ceiling = backoffCeiling(retry, { ...policy, maxAttempts: Number.POSITIVE_INFINITY });
  const jittered = Math.floor(random() * ceiling);
  return Math.max(jittered, Math.ceil(retryAfterMs ?? 0));
}
