/**
 * The bearer token of `emomo serve`: which routes it guards, where a request
 * carries it (the Authorization header, or the page's cookie so that
 * <img src="/objects/…"> carries it too) and a comparison whose time does not
 * depend on the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Routes that read the library: behind the token when one is set. The page and /healthz hold no library data. */
export const PROTECTED = /^\/(api\/(?!openapi\.json)|objects\/)/;
export const TOKEN_COOKIE = 'emomo_token';

/** The token a request carries, if any. */
export function bearer(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.authorization;
  const match = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
  if (match) return match[1]!.trim();
  for (const part of (headers.cookie ?? '').split(/;\s*/)) {
    if (!part.startsWith(`${TOKEN_COOKIE}=`)) continue;
    const value = part.slice(TOKEN_COOKIE.length + 1);
    try {
      return decodeURIComponent(value);
    } catch {
      return value; // not percent-encoded as the page writes it: compared as it is (and refused)
    }
  }
  return undefined;
}

/** Whether `given` is the token; fixed-length digests, so comparing them takes the same time whatever the token. */
export function tokenMatcher(token: string): (given: string | undefined) => boolean {
  const expected = digest(token);
  return (given) => given !== undefined && timingSafeEqual(digest(given), expected);
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
