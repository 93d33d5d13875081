/**
 * How many requests one provider gets at once, adapting to what it can take
 * (AIMD, as TCP does): the limit starts at the configured maximum, halves
 * when the provider answers 429 (too many requests), and grows back by one
 * after each full window of successes (as many successes in a row as the
 * limit). A run so settles just under the provider's real limit instead of
 * bouncing off it.
 *
 * Only one halving per round trip: a 429 to a request that was sent before
 * the last halving says nothing new about the current limit. Waiters get
 * slots in arrival order; a slot is held only while a request is in flight.
 */

export interface Slot {
  /** Releases the slot; calling it twice is harmless. */
  release(): void;
  /** Issue number, to tell requests sent before a change of the limit from those sent after. */
  readonly seq: number;
}

export type LimitChange = (limit: number, max: number) => void;

interface Waiter {
  grant(slot: Slot): void;
}

export class AdaptiveLimit {
  private current: number;
  private inFlight = 0;
  private issued = 0;
  /** Slots issued before this number were sent at the old limit. */
  private decreasedAt = 0;
  private successes = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    readonly max: number,
    private readonly onChange?: LimitChange,
  ) {
    if (!(max >= 1)) throw new RangeError(`concurrency must be at least 1, got ${max}`);
    this.current = max;
  }

  get limit(): number {
    return this.current;
  }

  get active(): number {
    return this.inFlight;
  }

  /** Resolves with a slot once fewer than `limit` requests are in flight; aborting stops the wait. */
  acquire(signal?: AbortSignal): Promise<Slot> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.inFlight < this.current && this.waiting.length === 0) return Promise.resolve(this.grant());
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = {
        grant: (slot) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(slot);
        },
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal!.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** The request on `slot` was answered 429: multiplicative decrease. */
  rateLimited(slot: Slot): void {
    if (slot.seq < this.decreasedAt) return;
    this.decreasedAt = this.issued;
    this.successes = 0;
    const next = Math.max(1, Math.floor(this.current / 2));
    if (next === this.current) return;
    this.current = next;
    this.onChange?.(next, this.max);
  }

  /** A request succeeded: additive increase after a full window of successes. */
  succeeded(): void {
    if (this.current >= this.max) return;
    if (++this.successes < this.current) return;
    this.successes = 0;
    this.current++;
    this.onChange?.(this.current, this.max);
    this.drain();
  }

  private grant(): Slot {
    this.inFlight++;
    const seq = this.issued++;
    let released = false;
    return {
      seq,
      release: () => {
        if (released) return;
        released = true;
        this.inFlight--;
        this.drain();
      },
    };
  }

  private drain(): void {
    while (this.inFlight < this.current && this.waiting.length > 0) this.waiting.shift()!.grant(this.grant());
  }
}
