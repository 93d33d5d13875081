/**
 * The contract between a run (ingest-service.ts) and what processes its
 * items (process-item.ts; retry-pending wraps one): outcomes as values, and
 * transient failures handed back for the run to queue again.
 */
import type { Stage } from '../errors.js';
import type { SourceItem } from '../ports.js';
import type { ItemOutcome } from './outcome.js';

/** What `ingestSource` needs from a processor; retry-pending wraps one. */
export interface ItemHandler {
  process(item: SourceItem, run?: ItemRun): Promise<ItemOutcome | Requeue | BusyOutcome>;
  fail(item: FailedItem, stage: Stage, err: unknown): Promise<ItemOutcome>;
}

export interface ItemRun {
  /** The run would take the item again later: hand back a transient failure instead of recording it. */
  mayRequeue?: boolean;
  /**
   * When another process holds the image's claim: `wait` for it (the
   * default), or `defer`: come back at once with a BusyOutcome, so the run
   * can work on other items first (many workers on one source).
   */
  busy?: 'wait' | 'defer';
}

/** An image another process is working on right now: the run takes the item again later. */
export interface BusyOutcome {
  kind: 'busy';
  sourceId: string;
  md5: string;
}

/** A transient failure handed back to the run, not recorded (yet): the run queues the item again. */
export interface Requeue {
  kind: 'requeue';
  sourceId: string;
  stage: Stage;
  reason: string;
  error: unknown;
}

/** A source item, or what is known of an entry that never became one. */
export type FailedItem = Pick<SourceItem, 'sourceType' | 'sourceId'> & Partial<Omit<SourceItem, 'sourceType' | 'sourceId'>>;
