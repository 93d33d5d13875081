/**
 * The `Retry-After` response header (RFC 9110 §10.2.3): either a number of
 * seconds or an HTTP date. Returns the wait in milliseconds from `nowMs`
 * (never negative), or undefined when the header is missing or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  // Only HTTP-date shapes ("Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse alone accepts far too much.
  if (!/[a-z]{3},? .*\d{2}:\d{2}:\d{2}/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
