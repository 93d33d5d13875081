/**
 * Every request to one remote provider goes through its gate:
 *
 *   circuit (wait while open; one probe when half-open)
 *   → concurrency slot (AIMD limit) → Retry-After pause → rpm token
 *   → the request, with a timeout
 *   → on failure: 401 / 403 stop the run; 429 (and 503 with Retry-After)
 *     halve the concurrency (AIMD), and a Retry-After pauses the whole
 *     provider until it expires; 5xx, timeouts and network errors count
 *     towards the circuit; then retry with backoff and full jitter, or give
 *     up (other 4xx, or retries used up).
 *
 * A slot is held only while a request is in flight, never while backing off.
 * Attempts that fail as the circuit opens (an outage) do not use up the
 * call's retries: the call waits for the provider instead of failing its item.
 * When the run's stop signal aborts, every wait ends with an AbortedError;
 * requests already sent finish.
 */
import { AbortedError } from '../errors.js';
import type { Log } from '../ports.js';
import { AdaptiveLimit, type Slot } from './adaptive-limit.js';
import { defaultProviderBackoff, DEFAULT_MAX_RETRY_AFTER_MS, retryDelayMs, type BackoffPolicy } from './backoff.js';
import { CircuitBreaker, formatMs, ProviderAbortedError, type BreakerState, type Permit } from './circuit-breaker.js';
import { abortReason, systemClock, type Clock } from './clock.js';
import { ProviderPause, type PassDone } from './provider-pause.js';
import { isRateLimited } from './retryable.js';
import { TokenBucket } from './token-bucket.js';

/** A failed attempt, classified by the caller's protocol adapter. */
export interface CallFailure extends Error {
  status?: number;
  retryable: boolean;
  /** What the server's Retry-After asked for, in ms. */
  retryAfterMs?: number;
}

export interface GateOptions {
  /** For messages: `vlm "openai" (model gpt-4o-mini)`. */
  label: string;
  provider: string;
  /** Name of the env variable holding the key, for the "key rejected" message. */
  keyEnv?: string;
  /** Retries of one call after its first attempt (ingest.retry_count). */
  retries: number;
  timeoutMs: number;
  /** Most requests in flight at once; the AIMD limit moves below it. */
  concurrency: number;
  /** Requests per minute; undefined means no limit. */
  rpm?: number;
  /** Shared with every gate of the same base URL and key. */
  pause?: ProviderPause;
  /** Failures in a row that open the circuit (transient) or stop the run (refused). */
  breakerThreshold: number;
  probeIntervalMs: number;
  maxOutageMs: number;
  backoff?: BackoffPolicy;
  /** A Retry-After longer than this stops the run instead of pausing it. */
  maxRetryAfterMs?: number;
  /** Masks the API key (and other secrets) in every message the gate builds or logs. */
  redact?: (text: string) => string;
  /** Turns whatever an attempt threw into a classified failure; `timedOutAfterMs` when our timeout fired. */
  classify: (err: unknown, timedOutAfterMs?: number) => CallFailure;
  /** The run's stop signal: waits end when it aborts; requests in flight finish. */
  stop?: AbortSignal;
  log?: Log;
  clock?: Clock;
  random?: () => number;
}

type Attempt<T> = { kind: 'ok'; value: T } | { kind: 'failed'; failure: CallFailure; slot: Slot } | { kind: 'readmit' };

export class ProviderGate {
  readonly label: string;
  private readonly limit: AdaptiveLimit;
  private readonly bucket?: TokenBucket;
  private readonly breaker: CircuitBreaker;
  private readonly pause: ProviderPause;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly redact: (text: string) => string;
  private readonly log: Log;

  constructor(private readonly opts: GateOptions) {
    this.label = opts.label;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    const redact = (this.redact = opts.redact ?? ((text) => text));
    const log: Log = (this.log = (level, message, fields) => opts.log?.(level, redact(message), fields));
    // Leaving and regaining full concurrency are news; the steps in between are detail (--verbose).
    let full = true;
    this.limit = new AdaptiveLimit(opts.concurrency, (limit, max) => {
      const level = full || limit === max ? 'info' : 'debug';
      full = limit === max;
      log(level, `${opts.label}: concurrency ${limit} of ${max}${full ? ', full again' : ' (it answers 429)'}`);
    });
    if (opts.rpm !== undefined) this.bucket = new TokenBucket(opts.rpm, { clock: this.clock });
    this.pause = opts.pause ?? new ProviderPause(this.clock);
    this.breaker = new CircuitBreaker({
      label: opts.label,
      provider: opts.provider,
      threshold: opts.breakerThreshold,
      cooldownMs: opts.probeIntervalMs,
      maxOpenMs: opts.maxOutageMs,
      clock: this.clock,
      onChange: (state: BreakerState, detail) => log(state === 'half-open' ? 'debug' : state === 'closed' ? 'info' : 'warn', detail),
    });
  }

  /** The concurrency the gate allows right now (the AIMD limit). */
  get concurrency(): number {
    return this.limit.limit;
  }

  get circuit(): BreakerState {
    return this.breaker.state;
  }

  /**
   * Runs `call` with retries. `call` receives a signal that aborts on the
   * per-request timeout (or when `signal` aborts) and must pass it to its client.
   * `signal` also ends every wait.
   */
  async run<T>(call: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const stop = this.opts.stop;
    const waits = signal && stop ? AbortSignal.any([signal, stop]) : (signal ?? stop);
    let retries = 0;
    for (;;) {
      let permit: Permit | undefined;
      let attempt: Attempt<T>;
      try {
        permit = await this.breaker.admit(waits);
        attempt = await this.attempt(call, permit, signal, waits);
      } catch (err) {
        if (permit) this.breaker.abandon(permit);
        throw this.stopped(err, signal);
      }
      if (attempt.kind === 'readmit') continue;
      if (attempt.kind === 'ok') {
        this.breaker.success();
        this.limit.succeeded();
        return attempt.value;
      }
      const { failure, slot } = attempt;
      const counts = this.judge(failure, permit, slot);
      if (!counts.retry) throw failure;
      if (counts.usesRetry) {
        if (retries >= this.opts.retries) throw failure;
        retries++;
      }
      try {
        await this.clock.sleep(retryDelayMs(Math.max(retries, 1), this.opts.backoff ?? defaultProviderBackoff, undefined, this.random), waits);
      } catch (err) {
        throw this.stopped(err, signal);
      }
    }
  }

  /** Slot, pause and rate limit, then one request with a timeout. */
  private async attempt<T>(
    call: (signal: AbortSignal) => Promise<T>,
    permit: Permit,
    signal: AbortSignal | undefined,
    waits: AbortSignal | undefined,
  ): Promise<Attempt<T>> {
    const slot = await this.limit.acquire(waits);
    let done: PassDone = () => undefined;
    try {
      for (;;) {
        done = await this.pause.pass(waits);
        await this.bucket?.take(waits);
        if (this.pause.remaining() === 0) break;
        done(); // a pause began while this call waited for a token
      }
      // The circuit may have opened while this call waited: only its probe goes out then.
      if (permit === 'normal' && this.breaker.state !== 'closed') return { kind: 'readmit' };
      const timeoutMs = this.opts.timeoutMs;
      const timeout = new AbortController();
      const combined = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
      let timer: NodeJS.Timeout | undefined;
      // Raced as well as signalled: a client that ignores the signal still cannot hang the call.
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new Error('timeout');
          timeout.abort(err);
          reject(err);
        }, timeoutMs);
      });
      try {
        return { kind: 'ok', value: await Promise.race([call(combined), expired]) };
      } catch (err) {
        if (signal?.aborted) throw err;
        const failure = this.opts.classify(err, timeout.signal.aborted ? timeoutMs : undefined);
        // Held before anyone waiting on this request is let go.
        if (failure.retryAfterMs !== undefined && isRateLimited(failure.status, failure.retryAfterMs)) {
          this.holdPause(failure.retryAfterMs, failure.status!);
        }
        return { kind: 'failed', failure, slot };
      } finally {
        clearTimeout(timer);
      }
    } finally {
      done();
      slot.release();
    }
  }

  /** Feeds a failure to the circuit and the concurrency limit; says whether to try again and whether that costs a retry. */
  private judge(failure: CallFailure, permit: Permit, slot: Slot): { retry: boolean; usesRetry: boolean } {
    const { status, retryAfterMs } = failure;
    if (status === 401 || status === 403) throw this.breaker.stop(this.keyRejected(status));
    const reason = this.redact(failure.message);
    if (!failure.retryable) {
      const stopped = this.breaker.refused(reason, status);
      if (stopped) throw stopped;
      return { retry: false, usesRetry: false };
    }
    if (isRateLimited(status, retryAfterMs)) {
      this.breaker.answered();
      // Too fast: fewer requests at once from now on (AIMD); a Retry-After was held by attempt().
      this.limit.rateLimited(slot);
      return { retry: true, usesRetry: true };
    }
    this.breaker.failure(permit, reason);
    // An attempt that opened the circuit, or was already out when it opened, costs no retry: the call
    // waits for the provider. A failed probe costs its caller one, so an item the provider fails on
    // its own (a "poison" image) cannot hold a run open by probing forever.
    return { retry: true, usesRetry: permit === 'probe' || this.breaker.state === 'closed' };
  }

  private holdPause(ms: number, status: number): void {
    const max = this.opts.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    if (ms > max) {
      throw this.breaker.stop(
        new ProviderAbortedError(
          this.opts.provider,
          `${this.label} asks to wait ${formatMs(ms)} (HTTP ${status}, Retry-After), longer than the ${formatMs(max)} emomo waits; stopping the run`,
          status,
        ),
      );
    }
    if (this.pause.hold(ms)) {
      this.log('warn', `${this.label} answered HTTP ${status} with Retry-After ${formatMs(ms)}: pausing every request to it for ${formatMs(ms)}`);
    }
  }

  /** The error to throw when a wait or a request was interrupted. */
  private stopped(err: unknown, signal: AbortSignal | undefined): unknown {
    const stop = this.opts.stop;
    if (stop?.aborted && !signal?.aborted && !(err instanceof AbortedError)) return new AbortedError(abortReason(stop));
    return err;
  }

  private keyRejected(status: number): ProviderAbortedError {
    const where = this.opts.keyEnv ? ` in ${this.opts.keyEnv}` : '';
    return new ProviderAbortedError(
      this.opts.provider,
      `${this.label} rejected the API key${where} (HTTP ${status}); check the key and run again`,
      status,
    );
  }
}
