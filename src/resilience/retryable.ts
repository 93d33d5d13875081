/**
 * Whether asking again can help: the one rule for HTTP statuses and network
 * errors, shared by the provider clients, S3 storage and the crawler.
 *
 * - 408, 425, 429 and 5xx (except 501 Not Implemented and 505 HTTP Version
 *   Not Supported, which will not change) are worth another try;
 * - every other 4xx is the request's own fault and fails at once;
 * - a connection that broke or never formed is worth another try; a TLS
 *   certificate problem is not.
 */
import { ProviderError } from '../errors.js';

export function isRetryableStatus(status: number): boolean {
  if (status === 408 || status === 425 || status === 429) return true;
  return status >= 500 && status <= 599 && status !== 501 && status !== 505;
}

/**
 * A response that says "too many requests, slow down" rather than "broken":
 * 429, or 503 carrying a Retry-After. These pause the provider instead of
 * counting towards its circuit breaker.
 */
export function isRateLimited(status: number | undefined, retryAfterMs: number | undefined): boolean {
  return status === 429 || (status === 503 && retryAfterMs !== undefined);
}

/** Socket-level failures: the request may not even have reached the server. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

const TLS_CODE = /CERT|SSL|TLS|SELF_SIGNED/;

/** The error code of `err` or of its cause (undici wraps socket errors in a "fetch failed" TypeError). */
export function errorCode(err: unknown): string | undefined {
  const own = (err as { code?: unknown } | null)?.code;
  if (typeof own === 'string') return own;
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

/**
 * What really went wrong under a wrapped network error ("Connection error." ←
 * "fetch failed" ← "connect ECONNREFUSED 127.0.0.1:9"): the innermost cause's
 * message, which names the code and the address, or its code alone.
 */
export function networkCause(err: unknown): string {
  let inner: unknown = err;
  for (let depth = 0; depth < 8; depth++) {
    const next = (inner as { cause?: unknown } | null)?.cause;
    if (!next || typeof next !== 'object') break;
    inner = next;
  }
  const code = errorCode(inner) ?? errorCode(err);
  const message = inner instanceof Error ? inner.message : '';
  if (message && code && message.includes(code)) return message;
  return [code, message].filter(Boolean).join(': ') || (err instanceof Error ? err.message : String(err));
}

/** A TLS verification failure: never retried, and never answered by switching verification off. */
export function isTlsError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && TLS_CODE.test(code);
}

/** A broken or refused connection, from fetch (undici), the openai package or a raw socket. */
export function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (isTlsError(err)) return false;
  // openai's APIConnectionError, undici's "fetch failed" / "terminated" TypeError.
  if (err.name === 'APIConnectionError' || err.constructor.name === 'APIConnectionError') return true;
  if (err instanceof TypeError && /fetch failed|terminated/i.test(err.message)) return true;
  const code = errorCode(err);
  return code !== undefined && NETWORK_ERROR_CODES.has(code);
}

/**
 * Local file-system conditions that fail every write until someone acts
 * (disk full, quota, read-only, permission): retrying the next item is pointless.
 */
const STORAGE_FATAL_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM']);

/** S3 error codes that mean the bucket or the credentials are wrong, not this one object. */
const S3_FATAL_CODES: ReadonlySet<string> = new Set([
  'AccessDenied',
  'Forbidden',
  'Unauthorized',
  'NoSuchBucket',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidBucketName',
]);

/**
 * A storage failure that will fail every item the same way: the run should
 * stop before more descriptions are paid for. `code` is an errno code
 * (local disk) or an S3 error code; `status` the HTTP status of an S3 reply.
 */
export function failsEveryWrite(code: string | undefined, status?: number): boolean {
  if (status === 401 || status === 403) return true;
  return code !== undefined && (STORAGE_FATAL_CODES.has(code) || S3_FATAL_CODES.has(code));
}

/**
 * A failure that may pass if the same work is tried again a little later: a
 * provider or storage error the rule above calls retryable (its own retries
 * already used up). Item errors (a corrupt image, an unreadable reply) are not.
 */
export function isTransient(err: unknown): boolean {
  return err instanceof ProviderError && err.retryable;
}
