/**
 * Searches at once, and a line behind them that never grows past what can be
 * answered in time. A request is refused at once rather than left to wait
 * behind hundreds of others until its client gives up:
 *   - 429 (BusyError) when the line holds `queued` searches already;
 *   - 503 (OverloadedError) when the line is longer than what the server
 *     answers before the request's deadline, judged by how fast searches
 *     have been answered lately (the time between two answers while others
 *     wait, whatever the backend and however many run at once).
 * A search whose deadline passed while it waited is not run (its request has
 * been answered 503 already): the server spends no time on answers nobody
 * will read.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { EmomoError } from '../errors.js';

/** Every slot busy and the line full: the client should come back after `retryAfterSeconds`. */
export class BusyError extends EmomoError {
  override name = 'BusyError';
  constructor(readonly retryAfterSeconds: number) {
    super(`too many searches at once; retry in ${retryAfterSeconds} s`);
  }
}

/** The line is longer than what can be answered before the request's deadline. */
export class OverloadedError extends EmomoError {
  override name = 'OverloadedError';
  constructor(readonly retryAfterSeconds: number) {
    super(`the searches already waiting would not be answered within serve.request_timeout; retry in ${retryAfterSeconds} s`);
  }
}

/** The request's deadline passed while its search waited for a slot. */
export class LateError extends EmomoError {
  override name = 'LateError';
  constructor() {
    super('the request took longer than serve.request_timeout');
  }
}

export interface SlotCounts {
  running: number;
  waiting: number;
  /** Requests refused since the start: line full (429) and line too long for their deadline (503). */
  refused: number;
  /** Searches not run because their request's deadline passed while they waited. */
  dropped: number;
  /** Mean time between two answers while searches waited, over the last 32 (ms); 0 until measured. */
  answer_interval_ms: number;
}

/**
 * How many recent intervals the estimate averages. Searches differ (a common word scores many more memes): over a
 * long line what matters is their mean, and one slow search must not make the whole line look too long to answer
 * (a running average weighing the newest interval by 0.2 refused requests that were answered in half their time).
 */
const WINDOW = 32;

export class SearchSlots {
  private readonly limit: LimitFunction;
  private intervalMs = 0;
  private readonly intervals: number[] = [];
  private intervalsSum = 0;
  private lastAnswer = 0;
  /** Whether a search was waiting when the last one was answered: the next interval is then an answer's cost. */
  private saturated = false;
  private refused = 0;
  private dropped = 0;

  constructor(
    running: number,
    private readonly queued: number,
    private readonly retryAfterSeconds = 1,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.limit = pLimit(running);
  }

  get active(): number {
    return this.limit.activeCount;
  }

  get waiting(): number {
    return this.limit.pendingCount;
  }

  counts(): SlotCounts {
    const answer_interval_ms = Math.round(this.intervalMs * 10) / 10;
    return { running: this.active, waiting: this.waiting, refused: this.refused, dropped: this.dropped, answer_interval_ms };
  }

  /**
   * Runs `search` in a slot. Throws a BusyError when every slot is taken and
   * the line is full, an OverloadedError when the line would not reach it
   * before `deadline` (a `now()` time), a LateError when the deadline passes
   * while it waits.
   */
  run<T>(search: () => Promise<T>, deadline = Infinity): Promise<T> {
    const ahead = this.limit.activeCount + this.limit.pendingCount;
    if (this.limit.activeCount >= this.limit.concurrency && this.limit.pendingCount >= this.queued) {
      this.refused++;
      return Promise.reject(new BusyError(this.retryAfterSeconds));
    }
    // Answered after the ones ahead of it, and its own: one interval each.
    if (this.limit.pendingCount > 0 && this.now() + (ahead + 1) * this.intervalMs > deadline) {
      this.refused++;
      return Promise.reject(new OverloadedError(Math.max(1, Math.ceil((ahead * this.intervalMs) / 1000))));
    }
    return this.limit(async () => {
      // Searches on SQLite are synchronous: started back to back from a queue (promise callbacks
      // only), they would hold the event loop for the whole queue, with no socket read, no answer
      // from the cache and no request timeout until it is empty. Each waits for one turn of I/O.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.now() >= deadline) {
        this.dropped++;
        throw new LateError();
      }
      try {
        return await search();
      } finally {
        this.answered();
      }
    });
  }

  private answered(): void {
    const now = this.now();
    if (this.saturated) {
      const interval = now - this.lastAnswer;
      this.intervals.push(interval);
      this.intervalsSum += interval;
      if (this.intervals.length > WINDOW) this.intervalsSum -= this.intervals.shift()!;
      this.intervalMs = this.intervalsSum / this.intervals.length;
    }
    this.lastAnswer = now;
    this.saturated = this.limit.pendingCount > 0;
  }
}
