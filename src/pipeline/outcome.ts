/** Expected outcomes of one item, as values, and the run summary built from them. */
import type { Stage } from '../errors.js';

export type ItemOutcome =
  | { kind: 'added' | 'reused'; sourceId: string; md5: string }
  | { kind: 'skipped'; sourceId: string; md5?: string; reason: string }
  | { kind: 'failed'; sourceId: string; stage: Stage; reason: string; permanent: boolean };

export interface FailureReport {
  source_id: string;
  stage: Stage;
  reason: string;
}

export interface RunSummary {
  added: number;
  reused: number;
  skipped: number;
  failed: number;
  failures: FailureReport[];
  duration_ms: number;
  /** Present only when the run stopped early (signal, provider circuit open). */
  aborted?: string;
  dry_run?: true;
}

/** The summary keeps every count but at most this many failure details. */
export const FAILURE_DETAIL_LIMIT = 1000;

export class SummaryBuilder {
  private readonly started = Date.now();
  readonly summary: RunSummary = { added: 0, reused: 0, skipped: 0, failed: 0, failures: [], duration_ms: 0 };

  add(outcome: ItemOutcome): void {
    this.summary[outcome.kind]++;
    if (outcome.kind === 'failed' && this.summary.failures.length < FAILURE_DETAIL_LIMIT) {
      this.summary.failures.push({ source_id: outcome.sourceId, stage: outcome.stage, reason: outcome.reason });
    }
  }

  get total(): number {
    const s = this.summary;
    return s.added + s.reused + s.skipped + s.failed;
  }

  finish(extra: { aborted?: string; dryRun?: boolean } = {}): RunSummary {
    this.summary.duration_ms = Date.now() - this.started;
    if (extra.aborted) this.summary.aborted = extra.aborted;
    if (extra.dryRun) this.summary.dry_run = true;
    return this.summary;
  }
}
