/**
 * Turns whatever the S3 client threw into one readable ProviderError:
 * `S3 PUT ab/ab….jpg failed: AccessDenied (HTTP 403): Access Denied`.
 * Only the operation, key, error code, status and the server's message are
 * kept: the SDK error object carries the signed request, so it is never
 * attached as a cause.
 */
import { ProviderError, errorMessage } from '../errors.js';
import { NETWORK_ERROR_CODES, isRetryableStatus } from '../resilience/retryable.js';

export interface S3Failure {
  /** The S3 error code (`AccessDenied`, `NoSuchBucket`), or a network code (`ECONNREFUSED`). */
  code: string;
  status?: number;
  message: string;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  412: 'PreconditionFailed',
  429: 'TooManyRequests',
  500: 'InternalError',
  501: 'NotImplemented',
  503: 'ServiceUnavailable',
};

const MESSAGE_LIMIT = 300;

export function s3Failure(err: unknown): S3Failure {
  const e = (err ?? {}) as { name?: unknown; code?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const named =
    typeof e.code === 'string' ? e.code
    : typeof e.Code === 'string' ? e.Code
    : typeof e.name === 'string' && e.name !== 'Error' ? e.name
    : undefined;
  // A HEAD error has no body, so the SDK can only call it "Unknown"; say what the status means.
  const code =
    named && !/^Unknown(Error)?$/.test(named) ? named
    : status !== undefined ? (STATUS_NAMES[status] ?? `HTTP${status}`)
    : (named ?? 'Error');
  return { code, ...(status !== undefined ? { status } : {}), message: errorMessage(err) };
}

/** 404 / NotFound / NoSuchKey: the object is not there. */
export function isNotFound(f: S3Failure): boolean {
  return f.status === 404 || f.code === 'NotFound' || f.code === 'NoSuchKey';
}

/** Worth retrying later: the shared status rule, timeouts and network failures. */
export function isRetryable(f: S3Failure): boolean {
  if (f.status !== undefined) return isRetryableStatus(f.status);
  return NETWORK_ERROR_CODES.has(f.code) || /timeout/i.test(f.code) || /timeout|socket hang up/i.test(f.message);
}

export function s3Error(op: string, key: string, err: unknown): ProviderError {
  const f = s3Failure(err);
  const status = f.status !== undefined ? ` (HTTP ${f.status})` : '';
  // HEAD responses have no body, so the SDK's message is then just the code or "UnknownError".
  // Server messages can be long (some echo the whole signed header): keep the start.
  const text = f.message.length > MESSAGE_LIMIT ? `${f.message.slice(0, MESSAGE_LIMIT)}…` : f.message;
  const said = text && f.message !== f.code && f.message !== 'UnknownError' ? `: ${text}` : '';
  return new ProviderError('s3', `S3 ${op} ${key} failed: ${f.code}${status}${said}`, f.status, isRetryable(f), { code: f.code });
}
