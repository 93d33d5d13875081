/**
 * What to do about a failed check, read off the error: the env variable to
 * set, the key to fix, or the URL to check. Works on any error shape the
 * adapters produce (ProviderError, the openai SDK's APIError, the S3 SDK's
 * $metadata, Node's errno codes), following `cause` chains.
 */
import { ConfigError } from '../errors.js';

export interface HintContext {
  /** Env variables holding this check's credentials. */
  keyEnv?: readonly string[];
  /** The config key to check when the host cannot be reached, e.g. "embeddings[jina].base_url". */
  urlKey?: string;
}

const NETWORK = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNRESET|ETIMEDOUT|Connection error|fetch failed|socket hang up|timed out|TimeoutError/i;
const FILESYSTEM = /\b(ENOTDIR|EACCES|EPERM|EROFS|ENOSPC|EISDIR)\b/;

/** The HTTP status an error carries, looking through causes. */
export function httpStatus(err: unknown): number | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const o = e as { status?: unknown; statusCode?: unknown; $metadata?: { httpStatusCode?: unknown } };
    for (const v of [o.status, o.statusCode, o.$metadata?.httpStatusCode]) if (typeof v === 'number' && v >= 100) return v;
    const m = /\b(?:HTTP|status)[ :]*(\d{3})\b/i.exec(String((e as { message?: unknown }).message ?? ''));
    if (m) return Number(m[1]);
  }
  return undefined;
}

function messages(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const o = e as { message?: unknown; code?: unknown };
    parts.push(String(o.message ?? e), typeof o.code === 'string' ? o.code : '');
  }
  return parts.join(' ');
}

export function hintFor(err: unknown, ctx: HintContext = {}): string | undefined {
  if (err instanceof ConfigError) {
    // requireSecret reports a missing key as file "environment", key = the variable's name.
    if (err.file === 'environment' && err.key) return `set ${err.key} in the environment`;
    return err.key ? `fix ${err.key} in ${err.file}` : `fix ${err.file}`;
  }
  const keys = ctx.keyEnv?.length ? ctx.keyEnv.join(' and ') : undefined;
  const status = httpStatus(err);
  if (status === 401 || status === 403) return keys ? `HTTP ${status}: check the key in ${keys}` : `HTTP ${status}: check the credentials`;
  if (status === 404) return ctx.urlKey ? `HTTP 404: check ${ctx.urlKey} and the model or bucket name` : 'HTTP 404: check the name';
  if (status === 429) return 'HTTP 429: rate limited; lower rpm / concurrency or try again later';
  if (status !== undefined && status >= 500) return `HTTP ${status}: the service failed; try again later`;
  const text = messages(err);
  if (NETWORK.test(text)) return `unreachable host: check ${ctx.urlKey ?? 'the URL'} and the network`;
  const fs = FILESYSTEM.exec(text);
  if (fs && ctx.urlKey) return `${fs[1]}: check that ${ctx.urlKey} is a writable directory`;
  return undefined;
}
