/** What every backend's jobs table shares: the idempotency key of a job and how much of a reason is kept. */

/** Reasons are stored truncated: enough to act on, never a whole response body. */
export const REASON_LIMIT = 2000;

/** One job per (source, source id, collection): retries update it, never duplicate it. */
export function jobKey(sourceType: string, sourceId: string, collection: string): string {
  return `${sourceType}\u001f${sourceId}\u001f${collection}`;
}
