/**
 * The crawler's only way onto the network: Node's built-in fetch (undici)
 * with TLS verification as Node ships it — there is deliberately no switch
 * to turn it off. Every request, including robots.txt, redirect hops and
 * retries, waits for the shared rate limiter. Redirects are followed by hand
 * (http and https only, a few hops, each hop checked against robots.txt).
 * Bodies are streamed with the byte cap enforced while reading, so an
 * oversized or endless response is cut off, never buffered.
 */
import { DEFAULT_CRAWL_RETRIES } from '../config/limits.js';
import { errorMessage } from '../errors.js';
import { retryDelayMs, type RetryPolicy } from '../resilience/backoff.js';
import { sleep } from '../resilience/clock.js';
import { parseRetryAfter } from '../resilience/retry-after.js';
import { isRetryableStatus, isTlsError, networkCause } from '../resilience/retryable.js';
import type { RateLimiter } from './rate-limiter.js';
import { RobotsCache, type RobotsFetch } from './robots.js';

/**
 * How patiently the crawler asks a site again: 1 s, 2 s, 4 s (full jitter,
 * see src/resilience/backoff.ts), never before the site's Retry-After, and
 * not at all when the site asks for more than 2 minutes.
 */
export const defaultCrawlRetry: RetryPolicy = { retries: DEFAULT_CRAWL_RETRIES, baseDelayMs: 1_000, maxDelayMs: 30_000, maxRetryAfterMs: 120_000 };

/** A request that did not produce a usable body. Expected: the crawler reports it as a skip. */
export class FetchFailure extends Error {
  override name = 'FetchFailure';
  /** Asking again later cannot help (404, not an image, too large, robots.txt, redirect loop). */
  get permanent(): boolean {
    return !this.retryable && !this.details.transient;
  }
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly details: { status?: number; retryAfterMs?: number; transient?: boolean } = {},
  ) {
    super(message);
  }
}

export interface HttpClientOptions {
  userAgent: string;
  /** Longest wait for the response headers, and for each next chunk of the body. */
  timeoutMs: number;
  limiter: RateLimiter;
  retry: RetryPolicy;
  maxRedirects?: number;
  /** Aborting cancels waits (rate limit, backoff); a transfer already under way finishes. */
  signal?: AbortSignal;
  /** Called before each request goes out (for logs and tests). */
  onRequest?: (url: string) => void;
}

/** The body as capped chunks; breaking out of the loop cancels the download. */
export type BodyReader<T> = (chunks: AsyncIterable<Uint8Array>, response: Response) => Promise<T>;

const ROBOTS_MAX_BYTES = 512 * 1024;

export class HttpClient {
  readonly robots: RobotsCache;
  private readonly maxRedirects: number;

  constructor(private readonly options: HttpClientOptions) {
    this.maxRedirects = options.maxRedirects ?? 5;
    this.robots = new RobotsCache(options.userAgent, (url) => this.fetchRobots(url));
  }

  /** GET `url` and hand the body to `read`; retried as a whole on 429 / 5xx / network errors. */
  async get<T>(url: string, maxBytes: number, read: BodyReader<T>): Promise<T> {
    const { retry, signal } = this.options;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(url, maxBytes, read, true);
      } catch (err) {
        const failure = asFailure(err, this.options.timeoutMs);
        if (!failure.retryable || attempt >= retry.retries) throw failure;
        const asked = failure.details.retryAfterMs;
        if (asked !== undefined && asked > retry.maxRetryAfterMs) {
          const message = `${failure.message}; the site asks to wait ${Math.ceil(asked / 1000)} s, longer than we wait`;
          throw new FetchFailure(message, false, { transient: true });
        }
        const wait = retryDelayMs(attempt + 1, retry, asked);
        try {
          await sleep(wait, signal);
        } catch {
          throw new FetchFailure(`${failure.message}; interrupted before retrying`, false, { transient: true });
        }
      }
    }
  }

  /** The whole body as text (list pages). */
  getText(url: string, maxBytes: number): Promise<string> {
    return this.get(url, maxBytes, async (chunks) => {
      const parts: Buffer[] = [];
      for await (const c of chunks) parts.push(Buffer.from(c));
      return Buffer.concat(parts).toString('utf8');
    });
  }

  /** One attempt: redirects followed by hand, every hop rate-limited and (unless fetching robots.txt) robots-checked. */
  private async attempt<T>(start: string, maxBytes: number, read: BodyReader<T>, checkRobots: boolean): Promise<T> {
    let url = parseHttpUrl(start);
    for (let hop = 0; ; hop++) {
      if (checkRobots) {
        const refused = await this.robots.check(url);
        if (refused) throw new FetchFailure(refused, false);
      }
      await this.acquire();
      const controller = new AbortController();
      const timer = new IdleTimer(this.options.timeoutMs, () => controller.abort(new TimeoutSignal()));
      this.options.onRequest?.(url.href);
      try {
        const response = await fetch(url, {
          redirect: 'manual',
          headers: { 'user-agent': this.options.userAgent, accept: '*/*' },
          signal: controller.signal,
        });
        if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
          await response.body?.cancel().catch(() => undefined);
          if (hop >= this.maxRedirects) throw new FetchFailure(`more than ${this.maxRedirects} redirects (last ${url.href})`, false);
          url = parseHttpUrl(new URL(response.headers.get('location')!, url).href, `redirect from ${url.href}`);
          continue;
        }
        if (response.status < 200 || response.status >= 300) {
          await response.body?.cancel().catch(() => undefined);
          const retryable = isRetryableStatus(response.status);
          const retryAfterMs = retryable ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
          throw new FetchFailure(`HTTP ${response.status} for ${url.href}`, retryable, { status: response.status, retryAfterMs });
        }
        const declared = Number(response.headers.get('content-length') ?? NaN);
        if (declared > maxBytes) {
          await response.body?.cancel().catch(() => undefined);
          throw new FetchFailure(`too large: ${declared} bytes declared, limit ${maxBytes}`, false);
        }
        return await read(cappedBody(response, maxBytes, timer, controller), response);
      } finally {
        timer.stop();
      }
    }
  }

  private async acquire(): Promise<void> {
    try {
      await this.options.limiter.acquire(this.options.signal);
    } catch {
      throw new FetchFailure('interrupted while waiting for the rate limit', false, { transient: true });
    }
  }

  /** robots.txt: one attempt, no robots check of its own, read up to 512 KiB. */
  private async fetchRobots(robotsUrl: string): Promise<RobotsFetch> {
    try {
      const text = await this.attempt(robotsUrl, Number.MAX_SAFE_INTEGER, async (chunks) => {
        const parts: Buffer[] = [];
        let size = 0;
        for await (const c of chunks) {
          parts.push(Buffer.from(c));
          size += c.byteLength;
          if (size >= ROBOTS_MAX_BYTES) break; // rules past 512 KiB are ignored, as RFC 9309 allows
        }
        return Buffer.concat(parts).subarray(0, ROBOTS_MAX_BYTES).toString('utf8');
      }, false);
      return { status: 200, text };
    } catch (err) {
      const status = err instanceof FetchFailure ? err.details.status : undefined;
      if (status) return { status, text: '' };
      return { unreachable: errorMessage(asFailure(err, this.options.timeoutMs)) };
    }
  }
}

/** The response body, chunk by chunk, aborting the transfer past `maxBytes` or after an idle timeout. */
async function* cappedBody(response: Response, maxBytes: number, timer: IdleTimer, controller: AbortController): AsyncGenerator<Uint8Array> {
  if (!response.body) return;
  const reader = response.body.getReader();
  let total = 0;
  try {
    for (;;) {
      timer.arm();
      const { done, value } = await reader.read();
      if (done) return;
      total += value.byteLength;
      if (total > maxBytes) {
        controller.abort(new Error('byte cap'));
        throw new FetchFailure(`too large: more than ${maxBytes} bytes`, false);
      }
      yield value;
    }
  } finally {
    timer.stop();
    // Stops the transfer when the reader stopped early (cap, error, or a consumer that had enough).
    await reader.cancel().catch(() => undefined);
  }
}

class TimeoutSignal extends Error {
  override name = 'TimeoutSignal';
}

/** Fires when nothing arrived for `ms`: before the headers, or between two body chunks. */
class IdleTimer {
  private handle: NodeJS.Timeout | undefined;
  constructor(
    private readonly ms: number,
    private readonly fire: () => void,
  ) {
    this.arm();
  }
  arm(): void {
    this.stop();
    this.handle = setTimeout(this.fire, this.ms);
  }
  stop(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
  }
}

function parseHttpUrl(text: string, context = ''): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new FetchFailure(`not a URL: ${JSON.stringify(text)}${context ? ` (${context})` : ''}`, false);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FetchFailure(`refusing ${url.protocol} URL ${url.href}${context ? ` (${context})` : ''}: only http and https`, false);
  }
  return url;
}

/** Anything thrown during an attempt, as a FetchFailure that says whether to retry. */
function asFailure(err: unknown, timeoutMs: number): FetchFailure {
  if (err instanceof FetchFailure) return err;
  if (err instanceof TimeoutSignal || (err as { cause?: unknown })?.cause instanceof TimeoutSignal) {
    return new FetchFailure(`timed out after ${timeoutMs / 1000} s without data`, true);
  }
  const detail = networkCause(err);
  // A certificate problem will not fix itself: no retry, and never a fallback to no verification.
  if (isTlsError(err)) {
    return new FetchFailure(`TLS verification failed: ${detail}`, false, { transient: true });
  }
  return new FetchFailure(`network error: ${detail}`, true);
}
