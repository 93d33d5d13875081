/**
 * Every request to a remote provider goes through one CallGuard per provider:
 *
 *   circuit open? → concurrency slot → rate-limit token → request with a
 *   timeout → on failure: classify, then retry with backoff + full jitter
 *   (never before Retry-After), or give up and count it towards the breaker.
 *
 * The slot is held only while a request is in flight, not while backing off,
 * so one item waiting out a 429 does not block the others.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import type { Redactor } from '../../redact.js';
import { defaultBackoff, retryDelayMs, type BackoffPolicy } from './backoff.js';
import { CircuitBreaker, DEFAULT_BREAKER_THRESHOLD, ProviderAbortedError } from './circuit-breaker.js';
import { TokenBucket, realClock, type Clock } from './rate-limiter.js';
import { RemoteCallError, classifyFailure, identityLabel, type ProviderIdentity } from './remote-failure.js';

export interface GuardOptions {
  identity: ProviderIdentity;
  /** Retries of one call after its first attempt (ingest.retry_count). */
  retries: number;
  timeoutMs: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Requests per minute; undefined means no limit. */
  rpm?: number;
  /** Consecutive failed calls that stop the run. */
  breakerThreshold?: number;
  backoff?: BackoffPolicy;
  /** A Retry-After longer than this fails the call instead of stalling the item. */
  maxRetryAfterMs?: number;
  /** Masks the API key (and other secrets) in every message. */
  redact: Redactor;
  clock?: Clock;
  random?: () => number;
}

export const DEFAULT_MAX_RETRY_AFTER_MS = 120_000;

export class CallGuard {
  readonly identity: ProviderIdentity;
  private readonly pool: LimitFunction;
  private readonly bucket?: TokenBucket;
  private readonly breaker: CircuitBreaker;
  private readonly clock: Clock;
  private readonly random: () => number;

  constructor(private readonly opts: GuardOptions) {
    this.identity = opts.identity;
    this.pool = pLimit(opts.concurrency);
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    if (opts.rpm !== undefined) this.bucket = new TokenBucket(opts.rpm, { clock: this.clock });
    this.breaker = new CircuitBreaker(opts.breakerThreshold ?? DEFAULT_BREAKER_THRESHOLD);
  }

  /**
   * Runs `call` with retries. `call` receives a signal that aborts on the
   * per-request timeout (or when `signal` aborts) and must pass it to the client.
   */
  async run<T>(call: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let retry = 0; ; retry++) {
      this.breaker.check();
      let failure: RemoteCallError;
      try {
        const result = await this.pool(() => this.attempt(call, signal));
        this.breaker.recordSuccess();
        return result;
      } catch (err) {
        if (signal?.aborted || err instanceof ProviderAbortedError) throw err;
        failure = err as RemoteCallError;
      }
      this.breaker.check(); // another call may have opened it meanwhile
      if (failure.status === 401 || failure.status === 403) throw this.breaker.open(this.keyRejected(failure.status));
      const waitMs = retryDelayMs(retry + 1, this.opts.backoff ?? defaultBackoff, failure.retryAfterMs, this.random);
      const maxWait = this.opts.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
      if (!failure.retryable || retry >= this.opts.retries || waitMs > maxWait) {
        if (this.breaker.recordFailure()) throw this.breaker.open(this.keepsFailing(failure));
        throw failure;
      }
      await this.clock.sleep(waitMs, signal);
    }
  }

  private async attempt<T>(call: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.breaker.check(); // it may have opened while this call waited for a slot
    await this.bucket?.take(signal);
    const timeout = new AbortController();
    const timeoutMs = this.opts.timeoutMs;
    const combined = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
    let timer: NodeJS.Timeout | undefined;
    // Raced as well as signalled: a client that ignores the signal still cannot hang the item.
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new Error('timeout');
        timeout.abort(err);
        reject(err);
      }, timeoutMs);
    });
    try {
      return await Promise.race([call(combined), expired]);
    } catch (err) {
      if (signal?.aborted) throw err;
      throw classifyFailure(err, this.identity, this.opts.redact, timeout.signal.aborted ? timeoutMs : undefined);
    } finally {
      clearTimeout(timer);
    }
  }

  private keyRejected(status: number): ProviderAbortedError {
    const { identity } = this;
    const where = identity.keyEnv ? ` in ${identity.keyEnv}` : '';
    return new ProviderAbortedError(
      identity.provider,
      `${identityLabel(identity)} rejected the API key${where} (HTTP ${status}); check the key and run again`,
      status,
    );
  }

  private keepsFailing(last: RemoteCallError): ProviderAbortedError {
    const n = this.breaker.threshold;
    return new ProviderAbortedError(
      this.identity.provider,
      this.opts.redact(`${identityLabel(this.identity)} failed ${n} calls in a row, stopping the run; last error: ${last.message}`),
      last.status,
    );
  }
}
