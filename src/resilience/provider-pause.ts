/**
 * A Retry-After pause shared by every request to one provider. A provider is
 * identified by its base URL and API key, so two configured models behind
 * the same endpoint and key (a VLM and an embedding model on one account)
 * wait out the same 429 together: real rate limits count per key, and
 * requests sent inside the window are answered 429 too or count towards a
 * longer ban. Requests already in flight finish; no new one leaves until the
 * pause is over.
 */
import { createHash } from 'node:crypto';
import { systemClock, type Clock } from './clock.js';

export class ProviderPause {
  private until = 0;

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
    return starts;
  }

  /** Resolves once no pause runs (at once when none does). */
  async wait(signal?: AbortSignal): Promise<void> {
    for (let ms = this.remaining(); ms > 0; ms = this.remaining()) await this.clock.sleep(ms, signal);
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
