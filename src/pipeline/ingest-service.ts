/**
 * Streams a source through a bounded worker pool. `workers` is the number of
 * describe lanes (see ItemOptions.lanes); up to twice that many items are in
 * flight, so embedding and committing overlap the next describes, and at most
 * `workers * 3` entries are held at all, so memory does not grow with the size
 * of the source. Every entry ends as an outcome value; the
 * run only stops early when asked to (signal) or when a provider circuit opens.
 */
import pLimit from 'p-limit';
import type { Source, SourceEntry } from '../ports.js';
import { AbortedError, ItemError } from '../errors.js';
import type { ItemHandler } from './process-item.js';
import { SummaryBuilder, type ItemOutcome, type RunSummary } from './outcome.js';

export interface IngestRunOptions {
  workers: number;
  /** Stop after this many entries (0 = no limit). */
  limit: number;
  dryRun: boolean;
  /** Aborting stops taking new items; in-flight ones finish or are undone. */
  signal?: AbortSignal;
  onOutcome?: (outcome: ItemOutcome, done: number) => void;
}

export async function ingestSource(
  source: Source,
  processor: ItemHandler,
  opts: IngestRunOptions,
): Promise<RunSummary> {
  const summary = new SummaryBuilder();
  const pool = pLimit(opts.workers * 2);
  const inflight = new Set<Promise<void>>();
  let taken = 0;
  // Stops the run from inside (an AbortedError from a provider) as well as from outside (signal).
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;

  const handle = async (entry: SourceEntry): Promise<void> => {
    if (signal.aborted) return; // queued before the stop: never started, nothing recorded
    let outcome: ItemOutcome;
    try {
      outcome =
        entry.kind === 'item'
          ? await processor.process(entry.item)
          : await processor.fail(
              entry.problem,
              entry.problem.stage,
              new ItemError(entry.problem.stage, entry.problem.reason, entry.problem.permanent),
            );
    } catch (err) {
      if (!(err instanceof AbortedError)) throw err;
      if (!stop.signal.aborted) stop.abort(err);
      return;
    }
    summary.add(outcome);
    opts.onOutcome?.(outcome, summary.total);
  };

  for await (const entry of source.entries(signal)) {
    if (signal.aborted) break;
    if (opts.limit > 0 && taken >= opts.limit) break;
    taken++;
    const task: Promise<void> = pool(() => handle(entry)).finally(() => inflight.delete(task));
    inflight.add(task);
    if (inflight.size >= opts.workers * 3) await Promise.race(inflight);
  }
  await Promise.all(inflight);

  const aborted = signal.aborted ? abortReason(stop.signal.aborted ? stop.signal : opts.signal!) : undefined;
  return summary.finish({ aborted, dryRun: opts.dryRun });
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' ? reason : 'interrupted';
}
