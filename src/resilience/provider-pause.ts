/**
 * A Retry-After pause shared by every request to one provider. A provider is
 * identified by its base URL and API key, so two configured models behind
 * the same endpoint and key (a VLM and an embedding model on one account)
 * wait out the same 429 together: real rate limits count per key, and
 * requests sent inside the window are answered 429 too or count towards a
 * longer ban. Requests already in flight finish; no new one leaves until the
 * pause is over, and then one request goes first, alone: the others follow
 * once it has its answer (if that is another 429, they wait out that pause
 * too instead of arriving inside it all at once).
 */
import { createHash } from 'node:crypto';
import { systemClock, untilAborted, type Clock } from './clock.js';

/** Call when the request that passed has its answer (and any new pause it brought is held). */
export type PassDone = () => void;

export class ProviderPause {
  private until = 0;
  /** False from a pause until its first request went out. */
  private resumed = true;
  /** The first request after a pause, while it is out. */
  private lead?: { promise: Promise<void>; resolve: () => void };

  constructor(private readonly clock: Clock = systemClock) {}

  /** Milliseconds left, 0 when requests may go. */
  remaining(): number {
    return Math.max(0, this.until - this.clock.now());
  }

  /**
   * A response asked to wait `ms`: extends the pause when that is longer than
   * what is left. True when this starts a pause (none was running): the
   * caller announces it, so each pause is logged once.
   */
  hold(ms: number): boolean {
    const now = this.clock.now();
    const starts = this.until <= now;
    this.until = Math.max(this.until, now + ms);
    this.resumed = false;
    return starts;
  }

  /**
   * Resolves when a request may go out: no pause runs and the first request
   * after the last pause has its answer. The caller must call the returned
   * function once its request has an answer (after holding any new pause).
   */
  async pass(signal?: AbortSignal): Promise<PassDone> {
    for (;;) {
      const ms = this.remaining();
      if (ms > 0) {
        await this.clock.sleep(ms, signal);
      } else if (this.lead) {
        await untilAborted(this.lead.promise, signal);
      } else if (!this.resumed) {
        this.resumed = true;
        let resolve!: () => void;
        const lead = (this.lead = { promise: new Promise<void>((r) => (resolve = r)), resolve: () => resolve() });
        return () => {
          if (this.lead === lead) this.lead = undefined;
          lead.resolve();
        };
      } else {
        return () => undefined;
      }
    }
  }
}

/** One pause per (base URL, API key), for the life of one run (the App). */
export class ProviderPauses {
  private readonly pauses = new Map<string, ProviderPause>();

  constructor(private readonly clock: Clock = systemClock) {}

  for(baseUrl: string, apiKey: string): ProviderPause {
    // The key is only ever held hashed here.
    const id = `${baseUrl.replace(/\/+$/, '')}\u0000${createHash('sha256').update(apiKey).digest('hex')}`;
    let pause = this.pauses.get(id);
    if (!pause) this.pauses.set(id, (pause = new ProviderPause(this.clock)));
    return pause;
  }
}
