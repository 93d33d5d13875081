/**
 * Keeps a run alive through a provider outage, and stops it when waiting
 * cannot help:
 *
 *   closed ── `threshold` transient failures in a row (5xx, timeouts, network) ──▶ open
 *   open ── after `cooldownMs` ──▶ half-open: ONE probe request goes out, every other caller waits
 *   half-open ── the probe succeeds ──▶ closed: everyone goes on
 *   half-open ── the probe fails ──▶ open again, for another cool-down
 *   open for longer than `maxOpenMs`, `threshold` refused calls in a row
 *   (400 after 400: a wrong model name), or stop() (a rejected key) ──▶ stopped
 *
 * A stopped breaker throws a ProviderAbortedError at every caller: an
 * AbortedError, so the pipeline undoes the item without recording it as
 * failed and stops taking new items (exit 3). While it is open nobody fails:
 * callers wait, and their waits end early when their signal aborts.
 */
import { AbortedError } from '../errors.js';
import { systemClock, untilAborted, type Clock } from './clock.js';

export class ProviderAbortedError extends AbortedError {
  override name = 'ProviderAbortedError';
  constructor(
    readonly provider: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export type BreakerState = 'closed' | 'open' | 'half-open' | 'stopped';
/** What admit() grants: an ordinary request, or the one probe of a half-open circuit. */
export type Permit = 'normal' | 'probe';

export interface BreakerOptions {
  /** Who is protected, for messages: `vlm "openai" (model gpt-4o-mini)`. */
  label: string;
  provider: string;
  /** Failures in a row that open the circuit (transient) or stop the run (refused calls). */
  threshold: number;
  /** Wait between opening (or a failed probe) and the next probe. */
  cooldownMs: number;
  /** Longest the circuit may stay open before the run stops. */
  maxOpenMs: number;
  clock?: Clock;
  onChange?: (state: BreakerState, detail: string) => void;
}

export const DEFAULT_BREAKER_THRESHOLD = 5;
export const DEFAULT_PROBE_INTERVAL_MS = 5_000;
export const DEFAULT_MAX_OUTAGE_MS = 10 * 60_000;

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private transientStreak = 0;
  private refusedStreak = 0;
  /** Start of the current outage. */
  private openedAt = 0;
  private probeAt = 0;
  private lastFailure = '';
  private stoppedWith?: ProviderAbortedError;
  /** Settles when the state next changes away from open / half-open; wakes every waiter. */
  private change = deferred();
  private readonly clock: Clock;

  constructor(private readonly opts: BreakerOptions) {
    if (!(opts.threshold >= 1)) throw new RangeError(`threshold must be at least 1, got ${opts.threshold}`);
    this.clock = opts.clock ?? systemClock;
  }

  get state(): BreakerState {
    return this.current;
  }

  /** Waits until a request may go out. Throws the stop error once stopped, or the signal's reason. */
  async admit(signal?: AbortSignal): Promise<Permit> {
    for (;;) {
      if (this.stoppedWith) throw this.stoppedWith;
      if (this.current === 'closed') return 'normal';
      const wake = this.change.promise;
      if (this.current === 'open') {
        const wait = this.probeAt - this.clock.now();
        if (wait <= 0) {
          this.current = 'half-open';
          this.opts.onChange?.('half-open', `probing ${this.opts.label}`);
          return 'probe';
        }
        await this.sleepUnlessWoken(wait, wake, signal);
      } else {
        await untilAborted(wake, signal);
      }
    }
  }

  /** A request got an answer the caller could use. */
  success(): void {
    this.refusedStreak = 0;
    this.answered();
  }

  /** The provider answered, even if only to refuse or to slow us down: it is not down. */
  answered(): void {
    this.transientStreak = 0;
    if (this.current !== 'open' && this.current !== 'half-open') return;
    const down = this.clock.now() - this.openedAt;
    this.current = 'closed';
    this.opts.onChange?.('closed', `${this.opts.label} answers again after ${formatMs(down)}; resuming`);
    this.wakeAll();
  }

  /** A request failed in a way that may pass (5xx, timeout, network error). */
  failure(permit: Permit, reason: string): void {
    if (this.stoppedWith) return;
    this.lastFailure = reason;
    if (permit === 'probe') return this.probeFailed();
    if (this.current !== 'closed') return; // sent before the circuit opened: nothing new
    if (++this.transientStreak < this.opts.threshold) return;
    this.openedAt = this.clock.now();
    this.probeAt = this.openedAt + this.opts.cooldownMs;
    this.current = 'open';
    this.opts.onChange?.(
      'open',
      `${this.opts.label} failed ${this.transientStreak} requests in a row; pausing it, one probe every ${formatMs(this.opts.cooldownMs)} ` +
        `(the run stops after ${formatMs(this.opts.maxOpenMs)}); last error: ${reason}`,
    );
  }

  /**
   * A call was refused for good (a 4xx other than 401 / 403). Many in a row
   * mean the config is wrong (a model name, a feature the endpoint lacks):
   * returns the error that stops the run once there were `threshold` of them.
   */
  refused(reason: string, status?: number): ProviderAbortedError | undefined {
    this.answered();
    if (++this.refusedStreak < this.opts.threshold) return undefined;
    return this.stop(
      new ProviderAbortedError(
        this.opts.provider,
        `${this.opts.label} refused ${this.refusedStreak} calls in a row, stopping the run; last error: ${reason}`,
        status,
      ),
    );
  }

  /** The probe's caller stopped waiting before it had an answer: the next caller probes at once. */
  abandon(permit: Permit): void {
    if (permit !== 'probe' || this.current !== 'half-open') return;
    this.current = 'open';
    this.probeAt = this.clock.now();
    this.wakeAll();
  }

  /** Stops every later call with `error` (the first reason given is the one everybody sees). */
  stop(error: ProviderAbortedError): ProviderAbortedError {
    if (!this.stoppedWith) {
      this.stoppedWith = error;
      this.current = 'stopped';
      this.opts.onChange?.('stopped', error.message);
      this.wakeAll();
    }
    return this.stoppedWith;
  }

  private probeFailed(): void {
    const now = this.clock.now();
    if (now - this.openedAt >= this.opts.maxOpenMs) {
      this.stop(
        new ProviderAbortedError(
          this.opts.provider,
          `${this.opts.label} has failed every request for ${formatMs(now - this.openedAt)}, stopping the run; last error: ${this.lastFailure}`,
        ),
      );
      return;
    }
    this.current = 'open';
    this.probeAt = now + this.opts.cooldownMs;
    this.wakeAll();
  }

  private wakeAll(): void {
    this.change.resolve();
    this.change = deferred();
  }

  /** Sleeps `ms`, or less when the state changes meanwhile; the timer never outlives the wait. */
  private async sleepUnlessWoken(ms: number, wake: Promise<void>, signal?: AbortSignal): Promise<void> {
    const done = new AbortController();
    const either = signal ? AbortSignal.any([signal, done.signal]) : done.signal;
    try {
      await Promise.race([this.clock.sleep(ms, either), wake]);
    } catch (err) {
      if (signal?.aborted) throw err;
    } finally {
      done.abort();
    }
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** 1500 → "1.5 s", 600000 → "10 min". */
export function formatMs(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  const s = ms / 1000;
  return `${s >= 10 ? Math.round(s) : Math.round(s * 10) / 10} s`;
}
