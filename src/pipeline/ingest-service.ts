/**
 * Streams a source through a bounded worker pool. `workers` is the number of
 * describe lanes (see ItemOptions.lanes); up to twice that many items are in
 * flight, so embedding and committing overlap the next describes, and at most
 * `workers * 3` entries are held at all, so memory does not grow with the size
 * of the source. Every entry ends as an outcome value; the
 * run only stops early when asked to (signal) or when a provider circuit opens.
 *
 * An item whose transient failure outlived its provider retries (a streak of
 * 429s and 5xx on one call) goes back to the end of the queue after a backoff,
 * at most `requeues` times, before it is recorded as failed for retry-pending.
 *
 * An image another process is working on (several machines ingesting one
 * source) is not waited for on the first pass: the item is set aside and
 * taken up again once the source is exhausted, by when the other process has
 * usually committed it (a skip) or died and let its claim run out (a takeover).
 */
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import type { Source, SourceEntry, SourceItem } from '../ports.js';
import { AbortedError, ItemError, type Stage } from '../errors.js';
import { retryDelayMs, type BackoffPolicy } from '../resilience/backoff.js';
import { abortReason, systemClock, type Clock } from '../resilience/clock.js';
import type { ItemHandler } from './process-item.js';
import { SummaryBuilder, type ItemOutcome, type RunSummary } from './outcome.js';

export interface IngestRunOptions {
  workers: number;
  /**
   * Stop after this many items of new work (0 = no limit): added, reused or
   * failed. Items already in the collection (skipped) do not count, so a
   * cron `--limit 500` moves on past what earlier runs did.
   */
  limit: number;
  dryRun: boolean;
  /** Aborting stops taking new items; in-flight ones finish or are undone. */
  signal?: AbortSignal;
  onOutcome?: (outcome: ItemOutcome, done: number) => void;
  /** Times an item may go back to the queue after a transient failure (default 2). */
  requeues?: number;
  requeueBackoff?: BackoffPolicy;
  clock?: Clock;
  random?: () => number;
}

interface Failure {
  stage: Stage;
  error: unknown;
}

export const DEFAULT_REQUEUES = 2;
/** Waits before an item is taken again: up to 2 s, then up to 4 s (full jitter). */
export const DEFAULT_REQUEUE_BACKOFF: BackoffPolicy = { baseDelayMs: 2_000, maxDelayMs: 30_000 };

export async function ingestSource(
  source: Source,
  processor: ItemHandler,
  opts: IngestRunOptions,
): Promise<RunSummary> {
  const summary = new SummaryBuilder();
  const pool = pLimit(opts.workers * 2);
  const inflight = new Set<Promise<void>>();
  let work = 0;
  const clock = opts.clock ?? systemClock;
  const requeues = opts.requeues ?? DEFAULT_REQUEUES;
  // Stops the run from inside (an AbortedError from a provider) as well as from outside (signal).
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  setMaxListeners(0, signal); // every requeued item waits on it

  const track = (task: Promise<void>): void => {
    const tracked: Promise<void> = task.finally(() => inflight.delete(tracked));
    inflight.add(tracked);
  };

  const record = (outcome: ItemOutcome): void => {
    summary.add(outcome);
    if (outcome.kind !== 'skipped') work++; // --limit counts new work only
    opts.onOutcome?.(outcome, summary.total);
  };

  // Items whose image another process held when they came up (a few fields each, no image bytes).
  const later: SourceEntry[] = [];

  /**
   * `earlier`: the transient failure a requeued item had, recorded if the run stops before it is tried again.
   * `busy`: whether to set the item aside (`defer`) or wait when another process holds its image.
   */
  const handle = async (entry: SourceEntry, requeued: number, earlier?: Failure, busy: 'defer' | 'wait' = 'defer'): Promise<void> => {
    if (signal.aborted) {
      // Queued before the stop: never started, nothing recorded, unless it already failed once.
      if (earlier && entry.kind === 'item') record(await processor.fail(entry.item, earlier.stage, earlier.error));
      return;
    }
    try {
      if (entry.kind === 'problem') {
        const { problem } = entry;
        // A problem that may go away (a missing file) carries its item, so its job can be retried.
        return record(await processor.fail(problem.item ?? problem, problem.stage, new ItemError(problem.stage, problem.reason, problem.permanent)));
      }
      const result = await processor.process(entry.item, { mayRequeue: requeued < requeues, busy });
      if (result.kind === 'busy') return void later.push(entry);
      if (result.kind !== 'requeue') return record(result);
      track(requeue(entry.item, requeued + 1, { stage: result.stage, error: result.error }));
    } catch (err) {
      if (!(err instanceof AbortedError)) throw err;
      if (!stop.signal.aborted) stop.abort(err);
    }
  };

  /** Back to the end of the queue after a backoff; a stop meanwhile records the failure it had. */
  const requeue = async (item: SourceItem, n: number, failure: Failure): Promise<void> => {
    await clock.sleep(retryDelayMs(n, opts.requeueBackoff ?? DEFAULT_REQUEUE_BACKOFF, undefined, opts.random), signal).catch(() => {
      // Stopped while waiting: handle() below records the failure.
    });
    await pool(() => handle({ kind: 'item', item }, n, failure));
  };

  /** Starts an entry unless the run is stopped or its limit reached; false when no more may start. */
  const start = async (entry: SourceEntry, busy: 'defer' | 'wait'): Promise<boolean> => {
    if (signal.aborted) return false;
    // Never more in flight than could still count: wait to see whether they were new work.
    while (opts.limit > 0 && inflight.size > 0 && work + inflight.size >= opts.limit) await Promise.race(inflight);
    if (opts.limit > 0 && work >= opts.limit) return false;
    track(pool(() => handle(entry, 0, undefined, busy)));
    if (inflight.size >= opts.workers * 3) await Promise.race(inflight);
    return true;
  };
  for await (const entry of source.entries(signal)) {
    if (!(await start(entry, 'defer'))) break;
  }
  // Requeued items add tasks while others finish, set-aside items come back waiting for their
  // image (skipped if its holder committed it, taken over if its lease ran out): until none is left.
  for (;;) {
    while (inflight.size > 0) await Promise.all(inflight);
    if (later.length === 0) break;
    for (const entry of later.splice(0)) if (!(await start(entry, 'wait'))) break;
    if (signal.aborted || (opts.limit > 0 && work >= opts.limit)) later.length = 0;
  }

  const aborted = signal.aborted ? abortReason(stop.signal.aborted ? stop.signal : opts.signal!) : undefined;
  return summary.finish({ aborted, dryRun: opts.dryRun });
}
