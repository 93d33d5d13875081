/**
 * How patiently the crawler asks a site again. The delay itself comes from
 * the shared backoff (src/providers/resilience): exponential with full
 * jitter, never shorter than the site's `Retry-After`.
 */
import type { BackoffPolicy } from '../providers/resilience/backoff.js';

export interface RetryPolicy extends BackoffPolicy {
  /** Retries after the first attempt (0 = never retry). */
  retries: number;
  /** Longest `Retry-After` we are willing to honour; a longer one ends the attempt. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  retries: 3,
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
};

/** 429 and 5xx are worth another try; other statuses will not change. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}
