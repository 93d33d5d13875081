/**
 * A token bucket per provider: `rpm` requests per minute on average, with a
 * burst of at most `burst` requests (default: one second's worth, at least
 * one), so a fresh run cannot fire a whole minute's quota at once. Callers
 * wait in arrival order; aborting a wait gives its turn to the next caller.
 */
import { systemClock, untilAborted, type Clock } from './clock.js';

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly perMs: number;
  private readonly burst: number;
  /** The tail of the queue of waiting callers: one waits at a time, in order. */
  private tail: Promise<void> = Promise.resolve();

  private readonly clock: Clock;

  constructor(
    readonly rpm: number,
    opts: { burst?: number; clock?: Clock } = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    if (!(rpm > 0)) throw new RangeError(`rpm must be positive, got ${rpm}`);
    this.perMs = rpm / 60_000;
    this.burst = Math.max(1, opts.burst ?? Math.ceil(rpm / 60));
    this.tokens = this.burst;
    this.last = this.clock.now();
  }

  /** Resolves when the caller may send one request. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.tail.then(() => this.waitForToken(signal));
    this.tail = turn.catch(() => undefined);
    // An aborted caller stops waiting at once; its turn, when it comes, takes no token.
    return untilAborted(turn, signal);
  }

  private async waitForToken(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.clock.sleep(Math.ceil((1 - this.tokens) / this.perMs), signal);
    }
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + Math.max(0, now - this.last) * this.perMs);
    this.last = now;
  }
}
