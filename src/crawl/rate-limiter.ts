/**
 * One limiter per crawl, shared by every request to the site (list pages,
 * images, robots.txt, redirects and retries alike), so `--rate` is what the
 * site sees however many download threads run.
 *
 * Requests are placed on a jittered grid: slot k is due at `k / rate` plus a
 * random 0–½ interval. Consecutive requests are therefore 0.5–1.5 intervals
 * apart (the politeness jitter of the old crawler), yet any window of W
 * seconds holds at most `rate × W + 1` requests: jitter never adds up into a
 * burst. After an idle spell the grid restarts at "now" instead of letting
 * the missed slots fire at once.
 */
import { systemClock, type Clock } from '../resilience/clock.js';

export interface RateLimiterOptions {
  /** Requests per second (> 0). */
  rate: number;
  /** Randomness in [0, 1); injectable for tests. */
  random?: () => number;
  clock?: Clock;
}

export class RateLimiter {
  private readonly intervalMs: number;
  private readonly random: () => number;
  private readonly clock: Clock;
  /** Grid position of the last reserved slot (before jitter). */
  private lastSlot = -Infinity;

  constructor(options: RateLimiterOptions) {
    if (!(options.rate > 0) || !Number.isFinite(options.rate)) throw new RangeError(`rate must be > 0, got ${options.rate}`);
    this.intervalMs = 1000 / options.rate;
    this.random = options.random ?? Math.random;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Reserves the next slot and waits for it. The reservation is synchronous,
   * so concurrent callers get distinct slots in call order. An aborted wait
   * still consumes its slot (the grid only moves forward).
   */
  async acquire(signal?: AbortSignal): Promise<void> {
    const delay = this.reserve() - this.clock.now();
    if (delay > 0) await this.clock.sleep(delay, signal);
  }

  /** The time the next request may start; exposed for tests of the grid. */
  reserve(): number {
    const slot = Math.max(this.clock.now(), this.lastSlot + this.intervalMs);
    this.lastSlot = slot;
    return slot + this.random() * 0.5 * this.intervalMs;
  }
}
