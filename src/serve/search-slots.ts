/**
 * Searches at once, and a bounded queue behind them. A request that finds
 * the queue full is refused at once (429 with Retry-After) instead of
 * waiting behind hundreds of others until its client gives up.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { EmomoError } from '../errors.js';

/** Every slot busy and the queue full: the client should come back after `retryAfterSeconds`. */
export class BusyError extends EmomoError {
  override name = 'BusyError';
  constructor(readonly retryAfterSeconds: number) {
    super(`too many searches at once; retry in ${retryAfterSeconds} s`);
  }
}

export class SearchSlots {
  private readonly limit: LimitFunction;

  constructor(
    running: number,
    private readonly queued: number,
    private readonly retryAfterSeconds = 1,
  ) {
    this.limit = pLimit(running);
  }

  get active(): number {
    return this.limit.activeCount;
  }

  get waiting(): number {
    return this.limit.pendingCount;
  }

  /** Runs `search` in a slot; throws a BusyError when every slot is taken and the queue is full. */
  run<T>(search: () => Promise<T>): Promise<T> {
    if (this.limit.activeCount >= this.limit.concurrency && this.limit.pendingCount >= this.queued) {
      return Promise.reject(new BusyError(this.retryAfterSeconds));
    }
    return this.limit(async () => {
      // Searches on SQLite are synchronous: started back to back from a queue (promise callbacks
      // only), they would hold the event loop for the whole queue, with no socket read, no answer
      // from the cache and no request timeout until it is empty. Each waits for one turn of I/O.
      await new Promise((resolve) => setImmediate(resolve));
      return search();
    });
  }
}
