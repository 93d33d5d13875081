/**
 * `retry-pending`: the jobs of one collection that are due are claimed in
 * small chunks and fed, as a Source, through the same worker pool as ingest,
 * so they run in parallel and resume where they failed (a stored description
 * or object is reused by the item pipeline itself). Then memes left without a
 * vector in the collection are finished by the embed backfill. Every retried
 * job ends as a row of the report: added / reused / skipped, failed again
 * (with its next retry time) or dead.
 */
import type { Source, SourceEntry, SourceItem } from '../ports.js';
import type { ClaimedJob, JobCounts, JobQueue } from '../store/ports.js';
import { DEFAULT_CATEGORY } from '../sources/naming.js';
import { LeaseKeeper } from './claim-lease.js';
import { backfillEmbeddings, emptyEmbedSummary, type EmbedDeps, type EmbedSummary } from './embed-service.js';
import { ingestSource } from './ingest-service.js';
import type { ItemOutcome, RunSummary } from './outcome.js';
import type { FailedItem, ItemHandler } from './process-item.js';

export interface RetryDeps extends EmbedDeps {
  store: EmbedDeps['store'] & JobQueue;
  /** The clock jobs are scheduled and found due by (tests drive it). */
  now: () => Date;
  /** An item processor for the collection, built exactly as for ingest. */
  processor: ItemHandler;
}

export interface RetryOptions {
  collection: string;
  /** Stop after this many jobs, and backfill at most this many vectors (0 = no limit). */
  limit: number;
  workers: number;
  /** Texts per embedding request for the backfill part. */
  batchSize: number;
  /** Revive dead jobs too. */
  includeDead: boolean;
  /** Only jobs whose stored reason contains this text. */
  reason?: string;
  /** Also embed described memes that have no vector in the collection (default true). */
  backfill?: boolean;
  signal?: AbortSignal;
  onOutcome?: (row: RetriedJob, done: number) => void;
}

export interface RetriedJob {
  source_type: string;
  source_id: string;
  /** Status and stage of the job before this run. */
  was: string;
  stage: string;
  outcome: ItemOutcome['kind'] | 'dead';
  attempts: number;
  reason?: string;
  next_retry_at?: string;
}

export interface RetryReport {
  collection: string;
  jobs: RetriedJob[];
  summary: RunSummary;
  backfill: EmbedSummary;
  /** Job counts of the collection after the run. */
  remaining: JobCounts;
}

/** Jobs claimed at a time: small, so a claim never outlives the work on it. */
const CHUNK = 32;
const ROW_LIMIT = 1000;

export async function retryPending(deps: RetryDeps, opts: RetryOptions): Promise<RetryReport> {
  const { store } = deps;
  const claimed = new Map<string, ClaimedJob>();
  const jobs: RetriedJob[] = [];
  const key = (sourceType: string, sourceId: string) => `${sourceType}\u001f${sourceId}`;

  const record = async (item: FailedItem, outcome: ItemOutcome): Promise<void> => {
    const job = claimed.get(key(item.sourceType, item.sourceId));
    if (!job) return;
    if (outcome.kind === 'skipped') await store.markJobDone(item.sourceType, item.sourceId, opts.collection); // added/reused: done at commit
    const after = outcome.kind === 'failed' ? await store.findJob(item.sourceType, item.sourceId, opts.collection) : undefined;
    const row: RetriedJob = {
      source_type: job.sourceType,
      source_id: job.sourceId,
      was: job.status,
      stage: outcome.kind === 'failed' ? outcome.stage : job.stage,
      outcome: after?.status === 'dead' ? 'dead' : outcome.kind,
      attempts: after?.attempts ?? job.attempts,
      reason: outcome.kind === 'failed' || outcome.kind === 'skipped' ? outcome.reason : undefined,
      next_retry_at: after?.nextRetryAt,
    };
    if (jobs.length < ROW_LIMIT) jobs.push(row);
    opts.onOutcome?.(row, jobs.length);
  };

  const handler: ItemHandler = {
    process: async (item, run) => {
      const outcome = await deps.processor.process(item, run);
      // A requeued job is reported when it ends; one another process holds, when it is taken up again.
      if (outcome.kind !== 'requeue' && outcome.kind !== 'busy') await record(item, outcome);
      return outcome;
    },
    fail: async (item, stage, err) => {
      const outcome = await deps.processor.fail(item, stage, err);
      await record(item, outcome);
      return outcome;
    },
  };

  const lease = new LeaseKeeper(store, deps.owner, deps.leaseMs);
  const source = new ClaimedJobSource(store, deps, lease.leaseMs, opts, (job) => claimed.set(key(job.sourceType, job.sourceId), job));
  let summary: RunSummary;
  const release = lease.hold();
  try {
    summary = await ingestSource(source, handler, { workers: opts.workers, limit: 0, dryRun: false, signal: opts.signal });
  } finally {
    release();
    // Jobs claimed but never started (the run was stopped) are due again at once.
    await store.releaseJobClaims(deps.owner);
  }

  let backfill = emptyEmbedSummary(opts.collection);
  const left = opts.limit === 0 ? 0 : opts.limit - claimed.size;
  if (opts.backfill !== false && !summary.aborted && (opts.limit === 0 || left > 0)) {
    backfill = await backfillEmbeddings(deps, { collection: opts.collection, batchSize: opts.batchSize, limit: left, signal: opts.signal });
  }
  return { collection: opts.collection, jobs, summary, backfill, remaining: await store.countJobs(opts.collection, deps.now()) };
}

/** The due jobs as a Source: claimed chunk by chunk, each job at most once per run. */
class ClaimedJobSource implements Source {
  readonly type = 'retry';

  constructor(
    private readonly store: JobQueue,
    private readonly deps: Pick<RetryDeps, 'now' | 'owner'>,
    private readonly leaseMs: number,
    private readonly opts: RetryOptions,
    private readonly onClaim: (job: ClaimedJob) => void,
  ) {}

  async *entries(signal?: AbortSignal): AsyncGenerator<SourceEntry> {
    let afterId = 0;
    let taken = 0;
    while (!signal?.aborted && (this.opts.limit === 0 || taken < this.opts.limit)) {
      const limit = this.opts.limit === 0 ? CHUNK : Math.min(CHUNK, this.opts.limit - taken);
      const chunk = await this.store.claimDueJobs(
        { collection: this.opts.collection, now: this.deps.now(), afterId, limit, includeDead: this.opts.includeDead, reason: this.opts.reason },
        this.deps.owner,
        this.leaseMs,
      );
      if (chunk.length === 0) return;
      for (const job of chunk) {
        afterId = job.id;
        taken++;
        this.onClaim(job);
        yield entryFor(job);
      }
    }
  }
}

/** Rebuilds the source item a job failed on; a job that cannot be rebuilt is a permanent problem. */
export function entryFor(job: ClaimedJob): SourceEntry {
  const path = job.payload?.path ?? job.path;
  if (!path) {
    return {
      kind: 'problem',
      problem: {
        sourceType: job.sourceType,
        sourceId: job.sourceId,
        stage: 'source',
        reason: `cannot retry: the job stores no file (it failed at "${job.stage}": ${job.reason})`,
        permanent: true,
      },
    };
  }
  const item: SourceItem = {
    sourceType: job.sourceType,
    sourceId: job.sourceId,
    path,
    root: job.payload?.root,
    category: job.payload?.category ?? DEFAULT_CATEGORY,
    tags: job.payload?.tags ?? [],
    sourceUrl: job.payload?.sourceUrl,
  };
  return { kind: 'item', item };
}
