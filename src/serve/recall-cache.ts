/**
 * Recent complete recall results, kept until the library changes. A chat bot
 * asks the same few things over and over (我太难了, 哈哈哈, 晚安); answering
 * those from memory leaves the search slots to new questions. Correctness
 * rests on the store's change mark (BrowseStore.changeMark): any commit by
 * another connection (an ingest, a purge, a repair) empties the cache before
 * the next answer, so new memes show up at once. A backend that cannot tell
 * gets entries that live `fallbackTtlMs` only. Partial or failed results are
 * never kept: a provider hiccup must not outlive itself. Identical requests
 * in flight share one search.
 *
 * The mark is asked once per turn of the event loop, not once per answer:
 * the requests read in one turn share one look (a commit in the middle of a
 * turn cannot be told from one just after it). A kept answer may also be
 * found by the request's own text (`alias`, e.g. the raw URL), so a repeated
 * request is answered without parsing or validating it again.
 */
export interface CacheAnswer<T> {
  value: T;
  /** `hit`: from the cache; `shared`: another request's search still in flight; `miss`: searched now. */
  source: 'hit' | 'shared' | 'miss';
}

export class RecallCache<T> {
  private readonly entries = new Map<string, T>();
  private readonly inFlight = new Map<string, Promise<T>>();
  /** Kept answers by the text of the request that found them (at most `capacity`, emptied with the entries). */
  private readonly aliases = new Map<string, T>();
  /** This turn's look at the change mark, shared by every request of the turn. */
  private refreshing: Promise<number> | undefined;
  private mark: string | undefined;
  private markedAt = 0;
  /** Counts the times the cache was emptied: a search is kept only if none happened while it ran. */
  private epoch = 0;

  constructor(
    private readonly capacity: number,
    private readonly changeMark: () => Promise<string | undefined>,
    /** Whether a result may be kept (complete, not partial). */
    private readonly keep: (value: T) => boolean,
    private readonly fallbackTtlMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The answer kept for this exact request text, if the library has not changed since. */
  async lookup(alias: string): Promise<T | undefined> {
    if (this.capacity === 0) return undefined;
    await this.refresh();
    return this.aliases.get(alias);
  }

  /** The answer for `key`: kept, shared with a search in flight, or searched now; `alias` finds it again through lookup(). */
  async get(key: string, search: () => Promise<T>, alias?: string): Promise<CacheAnswer<T>> {
    if (this.capacity === 0) return { value: await search(), source: 'miss' };
    const epoch = await this.refresh();
    const found = this.entries.get(key);
    if (found !== undefined) {
      // Most recently used last: the first key is the one to evict.
      this.entries.delete(key);
      this.entries.set(key, found);
      if (alias !== undefined) this.remember(alias, found);
      return { value: found, source: 'hit' };
    }
    const shared = this.inFlight.get(key);
    if (shared) return { value: await shared, source: 'shared' };
    const pending = search();
    this.inFlight.set(key, pending);
    try {
      const value = await pending;
      // Kept only if the library was not seen to change while it was searched.
      if (this.keep(value) && epoch === this.epoch) {
        this.store(key, value);
        if (alias !== undefined) this.remember(alias, value);
      }
      return { value, source: 'miss' };
    } finally {
      this.inFlight.delete(key);
    }
  }

  /** Empties the cache when the library changed (or, without a mark, when the fallback TTL ran out); returns the epoch. */
  private refresh(): Promise<number> {
    if (this.refreshing === undefined) {
      this.refreshing = this.checkMark();
      setImmediate(() => (this.refreshing = undefined));
    }
    return this.refreshing;
  }

  private async checkMark(): Promise<number> {
    const mark = await this.changeMark();
    const now = this.now();
    const stale = mark === undefined ? now - this.markedAt >= this.fallbackTtlMs : mark !== this.mark;
    if (stale) {
      this.entries.clear();
      this.aliases.clear();
      this.mark = mark;
      this.markedAt = now;
      this.epoch++;
    }
    return this.epoch;
  }

  private store(key: string, value: T): void {
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  private remember(alias: string, value: T): void {
    if (this.aliases.has(alias)) return;
    this.aliases.set(alias, value);
    if (this.aliases.size > this.capacity) this.aliases.delete(this.aliases.keys().next().value!);
  }
}
