/**
 * Claims are leases (see ClaimStore in src/store/ports.ts): they expire on
 * the database's clock unless the live owner renews them. A LeaseKeeper is
 * that renewal: while anything of this owner holds a claim, a timer extends
 * all of the owner's claims every quarter of the lease (a 60 s lease: every
 * 15 s), so three renewals in a row may fail before a live claim is lost. A worker that dies (a
 * `kill -9`, a lost machine) stops renewing, and another worker takes its
 * items over once the lease has run out.
 */
import type { ClaimStore } from '../store/ports.js';

/** How long a claim lasts without a renewal. */
export const CLAIM_LEASE_MS = 60_000;

export class LeaseKeeper {
  private holders = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: Pick<ClaimStore, 'renewClaims'>,
    private readonly owner: string,
    readonly leaseMs: number = CLAIM_LEASE_MS,
  ) {}

  /** Keeps the owner's claims alive until the returned function is called (holds nest: the last one out stops the timer). */
  hold(): () => void {
    if (this.holders++ === 0) {
      this.timer = setInterval(() => {
        // A missed renewal is not fatal: the next one comes long before the lease ends.
        this.store.renewClaims(this.owner, this.leaseMs).catch(() => undefined);
      }, this.leaseMs / 4);
      this.timer.unref();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holders === 0) clearInterval(this.timer);
    };
  }
}
