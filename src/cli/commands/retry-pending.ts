/** `emomo retry-pending`: retry the due failed jobs of a collection, then finish memes left without a vector. */
import type { Command } from 'commander';
import type { App } from '../../app.js';
import { ExitCode } from '../../errors.js';
import type { RetryReport } from '../../pipeline/retry-service.js';
import { newOwnerId } from '../../store/claim-owner.js';
import type { CommandContext } from '../context.js';
import { systemTime, type RunTime } from '../run-time.js';
import { runLocked } from '../lock.js';
import { MAX_WORKERS } from '../../config/limits.js';
import { positiveInt, positiveIntUpTo } from '../parse.js';
import type { Reporter } from '../reporter.js';
import { formatTable } from '../table.js';

export interface RetryFlags {
  limit?: number;
  embedding?: string;
  includeDead: boolean;
  reason?: string;
  workers?: number;
  lock?: boolean;
}

export function registerRetryPending(program: Command, context: CommandContext): void {
  program
    .command('retry-pending')
    .description('retry failed items whose backoff has passed, and embed memes left without a vector')
    .option('--limit <n>', 'retry at most n jobs (and backfill at most n vectors) (default: all that are due)', positiveInt)
    .option('--embedding <name>', 'embedding config whose collection is retried (default: the one marked is_default)')
    .option('--include-dead', 'also revive dead jobs (permanent failures, or out of attempts) for one more attempt', false)
    .option('--reason <text>', 'only retry jobs whose stored reason contains this text (case-insensitive)')
    .option('--workers <n>', 'images described at once; embedding and committing run behind them (default: ingest.workers from the config; at most 256)', positiveIntUpTo(MAX_WORKERS))
    .option('--no-lock', 'do not take the per-collection run lock (overlapping runs stay safe: jobs are claimed)')
    .addHelpText(
      'after',
      `
Examples:
  emomo retry-pending
  emomo retry-pending --embedding jina --reason 429
  emomo retry-pending --include-dead --limit 50 --json

A job is due when its next_retry_at has passed (backoff 1 s, 2 s, 4 s … capped, with jitter).
Exit codes: 0 all retried items succeeded, 1 some failed again, 2 usage or config error, 3 aborted,
            4 another retry-pending on this collection is running.`,
    )
    .action((flags: RetryFlags) =>
      context.run((app, reporter, signal) => {
        const collection = app.embedding(flags.embedding).config.collection;
        const lock = { dbPath: app.dbPath, command: 'retry-pending', scope: `collection ${collection}`, server: app.serverRunLocks };
        return runLocked(flags.lock !== false, lock, reporter, () => retryPendingCommand(flags, app, reporter, signal));
      }, 'update'),
    );
}

export async function retryPendingCommand(
  flags: RetryFlags,
  app: App,
  reporter: Reporter,
  signal: AbortSignal,
  time: RunTime = systemTime,
): Promise<number> {
  const { config: embedding, embedder } = app.embedding(flags.embedding);
  await app.store.ensureCollection(embedding.collection, embedding.dimensions, embedder.model);
  const owner = newOwnerId();
  const workers = flags.workers ?? app.config.ingest.workers;
  const { buildItemProcessor } = await import('../item-processor.js');
  const processor = buildItemProcessor(app, embedding, embedder, { workers, force: false, dryRun: false, owner, time, log: reporter.log.bind(reporter) });
  reporter.log('info', `retry-pending → collection ${embedding.collection}`, {
    embedding: embedding.name,
    include_dead: flags.includeDead || undefined,
    reason: flags.reason,
  });
  const { retryPending } = await import('../../pipeline/retry-service.js');
  const report = await retryPending(
    { store: app.store, processor, embedder, redact: app.redact, now: () => new Date(time.clock.now()), owner, leaseMs: app.config.database.leaseMs, ...(embedding.input === 'image' ? { pictures: app.pictureSource } : {}) },
    {
      collection: embedding.collection,
      limit: flags.limit ?? 0,
      workers,
      batchSize: embedding.batchSize,
      includeDead: flags.includeDead,
      reason: flags.reason,
      signal,
      onOutcome: (row) =>
        reporter.log(row.outcome === 'failed' || row.outcome === 'dead' ? 'warn' : 'debug', `job ${row.outcome}`, {
          source: row.source_type,
          source_id: row.source_id,
          attempts: row.attempts,
          reason: row.reason,
        }),
    },
  );
  printReport(reporter, report);
  if (report.summary.aborted || report.backfill.aborted) return ExitCode.aborted;
  return report.summary.failed > 0 || report.backfill.failed > 0 ? ExitCode.partial : ExitCode.ok;
}

function printReport(reporter: Reporter, report: RetryReport): void {
  if (reporter.flags.json) {
    reporter.json(report);
    return;
  }
  const s = report.summary;
  const b = report.backfill;
  reporter.say(`retried ${report.jobs.length} job(s) in collection ${report.collection}:`);
  reporter.say(
    formatTable(
      ['source', 'id', 'was', 'outcome', 'attempts', 'next retry', 'reason'],
      report.jobs.map((j) => [j.source_type, j.source_id, `${j.was}@${j.stage}`, j.outcome, j.attempts, j.next_retry_at, j.reason?.slice(0, 80)]),
    ),
  );
  reporter.say(`added ${s.added}, reused ${s.reused}, skipped ${s.skipped}, failed ${s.failed}`);
  if (b.embedded + b.failed + b.skipped > 0) {
    reporter.say(`memes without a vector: embedded ${b.embedded}, failed ${b.failed}, skipped ${b.skipped}`);
  }
  const r = report.remaining;
  reporter.say(`jobs now: ${r.due} due, ${r.failed} failed, ${r.pending} pending, ${r.dead} dead, ${r.done} done`);
  const stopped = s.aborted ?? b.aborted;
  if (stopped) reporter.say(`stopped early: ${stopped}`);
}
