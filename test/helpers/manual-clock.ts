/**
 * A Clock whose time moves only when the test says so. Sleeps are queued
 * timers; `run(promise)` lets everything that can happen happen, then jumps
 * to the next timer, until the promise settles. Every sleep asked for is
 * recorded in `sleeps`.
 */
import type { Clock } from '../../src/resilience/clock.js';

interface Timer {
  at: number;
  seq: number;
  resolve(): void;
}

/** Lets pending promise chains and I/O callbacks run. */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export class ManualClock implements Clock {
  t: number;
  readonly sleeps: number[] = [];
  private timers: Timer[] = [];
  private seq = 0;

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const timer: Timer = {
        at: this.t + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(signal!.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
    });
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const next = this.next();
      if (!next || next.at > end) break;
      this.fire(next);
    }
    this.t = end;
    await settle();
  }

  /** Runs until `promise` settles, jumping from timer to timer whenever nothing else is pending. */
  async run<T>(promise: Promise<T>): Promise<T> {
    let done = false;
    promise.then(
      () => (done = true),
      () => (done = true),
    );
    for (;;) {
      await settle();
      if (done) return promise;
      const next = this.next();
      if (!next) return promise; // waits on something real (a socket): let it finish
      this.fire(next);
    }
  }

  get pending(): number {
    return this.timers.length;
  }

  private next(): Timer | undefined {
    return this.timers.reduce<Timer | undefined>((a, b) => (!a || b.at < a.at || (b.at === a.at && b.seq < a.seq) ? b : a), undefined);
  }

  private fire(timer: Timer): void {
    this.timers = this.timers.filter((t) => t !== timer);
    this.t = Math.max(this.t, timer.at);
    timer.resolve();
  }
}
