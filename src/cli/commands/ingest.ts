/** `emomo ingest`: read inputs, run the ingest service, print the summary. */
import type { Command } from 'commander';
import type { App } from '../../app.js';
import { ExitCode } from '../../errors.js';
import type { CommandContext } from '../context.js';
import { systemTime, type RunTime } from '../run-time.js';
import { runLocked } from '../lock.js';
import { MAX_WORKERS } from '../../config/limits.js';
import { positiveInt, positiveIntUpTo } from '../parse.js';
import type { Reporter } from '../reporter.js';
import { printRunSummary } from '../summary-output.js';

export interface IngestFlags {
  source: string;
  limit?: number;
  workers?: number;
  embedding?: string;
  force: boolean;
  dryRun: boolean;
  skipDuplicates?: boolean;
  /** Hold the per-source advisory lock (default true; --no-lock). */
  lock?: boolean;
}

export function registerIngest(program: Command, context: CommandContext): void {
  program
    .command('ingest')
    .description('ingest images from a source: dedupe by md5, describe, embed, store')
    .requiredOption('--source <source>', 'staging:<id> | chinesebqb | dir:<path>')
    .option('--limit <n>', 'stop after n items of new work: added, reused or failed; already-ingested items do not count (default: all)', positiveInt)
    .option('--workers <n>', 'images described at once; embedding and committing run behind them (default: ingest.workers from the config; at most 256)', positiveIntUpTo(MAX_WORKERS))
    .option('--embedding <name>', 'embedding config to use (default: the one marked is_default)')
    .option('--force', 're-process items already in the collection (replaces their vectors)', false)
    .option('--dry-run', 'only plan: show what would be added / reused / skipped; no writes, no provider calls', false)
    .option('--skip-duplicates', 'skip an image whose picture and caption a meme already has (caption read offline, never paid for); the skip names the meme kept', false)
    .option('--no-lock', 'do not take the per-source run lock (overlapping runs stay safe: items are claimed one by one)')
    .addHelpText(
      'after',
      `
Examples:
  emomo ingest --source=staging:sample
  emomo ingest --source=staging:fabiaoqing --embedding=jina --workers 32
  emomo ingest --source dir:./my-memes --dry-run
  emomo ingest --source dir:./my-memes --skip-duplicates    # re-shared copies are skipped (see docs/dupes.md)

Exit codes: 0 all good, 1 some items failed, 2 usage or config error, 3 aborted,
            4 another ingest of this source is running (see docs/operations.md).`,
    )
    .action((flags: IngestFlags) =>
      context.run(async (app, reporter, signal) => {
        const { openSource } = await import('../../sources/open-source.js');
        const source = openSource(flags.source, app.config.sources);
        await source.check?.(); // a wrong source is reported before the library is created
        const scope = `source ${source.type}`;
        const lock = { dbPath: app.dbPath, command: 'ingest', scope, server: app.serverRunLocks };
        return runLocked(flags.lock !== false && !flags.dryRun, lock, reporter, () => ingest(flags, app, reporter, signal));
      }),
    );
}

export async function ingest(
  flags: IngestFlags,
  app: App,
  reporter: Reporter,
  signal: AbortSignal,
  time: RunTime = systemTime,
): Promise<number> {
  const { config } = app;
  const [{ openSource }, { ingestSource }] = await Promise.all([import('../../sources/open-source.js'), import('../../pipeline/ingest-service.js')]);
  const source = openSource(flags.source, config.sources);
  const { config: embedding, embedder } = app.embedding(flags.embedding);
  const workers = flags.workers ?? config.ingest.workers;
  if (config.vlm.provider !== 'local' && workers > config.vlm.concurrency) {
    reporter.log(
      'warn',
      `${workers} workers, but at most ${config.vlm.concurrency} describe calls run at once (vlm.concurrency in ${config.file}); raise it for more throughput, within the provider's rate limit`,
    );
  }
  if (!flags.dryRun) await app.store.ensureCollection(embedding.collection, embedding.dimensions, embedder.model);

  const { buildItemProcessor } = await import('../item-processor.js');
  const processor = buildItemProcessor(app, embedding, embedder, {
    workers,
    force: flags.force,
    dryRun: flags.dryRun,
    skipDuplicates: flags.skipDuplicates,
    time,
    log: reporter.log.bind(reporter),
  });

  reporter.log('info', `ingest ${source.type} → collection ${embedding.collection}`, {
    embedding: embedding.name,
    model: embedder.model,
    dims: embedding.dimensions,
    workers,
    dry_run: flags.dryRun || undefined,
  });
  // Only staging sources know their size up front; a folder shows a counter, not a bar that grows with it.
  const total = await source.count?.();
  reporter.startProgress(flags.limit && total !== undefined && total > flags.limit ? undefined : total, 'ingest');
  const started = Date.now();
  const counts = { added: 0, reused: 0, skipped: 0, failed: 0 };
  const summary = await ingestSource(source, processor, {
    workers,
    limit: flags.limit ?? 0,
    dryRun: flags.dryRun,
    signal,
    clock: time.clock,
    random: time.random,
    onOutcome: (outcome, done) => {
      counts[outcome.kind]++;
      if (outcome.kind === 'failed') {
        reporter.log('warn', 'item failed', { source_id: outcome.sourceId, stage: outcome.stage, reason: outcome.reason });
      } else {
        reporter.log('debug', `item ${outcome.kind}`, { source_id: outcome.sourceId, md5: outcome.md5 });
      }
      const rate = done / Math.max((Date.now() - started) / 1000, 0.001);
      reporter.progress(done, {
        rate: rate.toFixed(1),
        counts: compactCounts(counts),
      });
    },
  });
  reporter.stopProgress();
  printRunSummary(reporter, summary);
  if (summary.aborted) return ExitCode.aborted;
  return summary.failed > 0 ? ExitCode.partial : ExitCode.ok;
}

/** "added 12 skipped 40 failed 1": zero counts left out so the line fits 80 columns. */
function compactCounts(counts: Record<string, number>): string {
  const shown = Object.entries(counts).filter(([, n]) => n > 0);
  return shown.length === 0 ? '' : shown.map(([kind, n]) => `${kind} ${n}`).join(' ');
}
