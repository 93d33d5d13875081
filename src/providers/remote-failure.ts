/**
 * Turns whatever a remote call threw (an `openai` APIError, a fetch network
 * error, our own timeout, a body that was not JSON) into one `RemoteCallError`
 * that says whether retrying can help and how long the server asked us to
 * wait. Whether to retry is a property of the error; the rule itself is
 * src/resilience/retryable.ts.
 */
import { ProviderError, errorMessage } from '../errors.js';
import type { Redactor } from '../redact.js';
import { parseRetryAfter } from '../resilience/retry-after.js';
import { isNetworkError, isRetryableStatus, networkCause } from '../resilience/retryable.js';

/** Who is being called, for messages: never the key, only the name of its variable. */
export interface ProviderIdentity {
  /** How the config names it: `vlm "openai"`, `embedding "jina"`. */
  what: string;
  provider: string;
  model: string;
  /** Name of the env variable holding the key. */
  keyEnv?: string;
}

export function identityLabel(id: ProviderIdentity): string {
  return `${id.what} (model ${id.model})`;
}

/** One failed request, classified. */
export class RemoteCallError extends ProviderError {
  override name = 'RemoteCallError';
  constructor(
    provider: string,
    message: string,
    status: number | undefined,
    retryable: boolean,
    /** What the server's Retry-After asked for, in ms. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(provider, message, status, retryable, options);
  }
}

/** An HTTP error response, from any client. */
export function httpFailure(
  id: ProviderIdentity,
  status: number,
  detail: string,
  headers: { get(name: string): string | null } | undefined,
  redact: Redactor,
  nowMs: number = Date.now(),
): RemoteCallError {
  const retryAfterMs = parseRetryAfter(headers?.get('retry-after'), nowMs);
  const text = redact(detail.replace(/\s+/g, ' ').trim()).slice(0, 300);
  return new RemoteCallError(
    id.provider,
    `${identityLabel(id)}: HTTP ${status}${text ? `: ${text}` : ''}`,
    status,
    isRetryableStatus(status),
    retryAfterMs,
  );
}

interface StatusLike {
  status?: unknown;
  headers?: unknown;
  message?: unknown;
}

/** Classifies anything a call threw. `timedOutAfterMs` is set when our own timeout fired. */
export function classifyFailure(
  err: unknown,
  id: ProviderIdentity,
  redact: Redactor,
  timedOutAfterMs?: number,
): RemoteCallError {
  if (err instanceof RemoteCallError) return err;
  const label = identityLabel(id);
  if (timedOutAfterMs !== undefined) {
    return new RemoteCallError(id.provider, `${label}: no answer within ${timedOutAfterMs / 1000} s`, undefined, true);
  }
  const e = err as StatusLike;
  if (typeof e?.status === 'number') {
    const headers = e.headers instanceof Headers ? e.headers : undefined;
    // The openai package prefixes its messages with the status ("429 Rate limit..."); say it once.
    const detail = typeof e.message === 'string' ? e.message.replace(new RegExp(`^${e.status}\\s*`), '') : '';
    return httpFailure(id, e.status, detail, headers, redact);
  }
  const message = redact(errorMessage(err)).slice(0, 300);
  if (err instanceof SyntaxError) {
    return new RemoteCallError(id.provider, `${label}: the response was not valid JSON (${message})`, undefined, true);
  }
  if (isNetworkError(err)) {
    // "Connection error.: fetch failed" says nothing: name the cause (ECONNREFUSED, ENOTFOUND, the address).
    return new RemoteCallError(id.provider, `${label}: network error: ${redact(networkCause(err)).slice(0, 300)}`, undefined, true);
  }
  return new RemoteCallError(id.provider, `${label}: ${message}`, undefined, false, undefined, { cause: err });
}
