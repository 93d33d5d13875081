/** `emomo embed`: backfill an embedding's collection from stored descriptions (no image, no describer). */
import type { Command } from 'commander';
import type { App } from '../../app.js';
import { ExitCode, UsageError } from '../../errors.js';
import type { EmbedDeps, EmbedSummary } from '../../pipeline/embed-service.js';
import { newOwnerId } from '../../store/claim-owner.js';
import type { CommandContext } from '../context.js';
import { runLocked } from '../lock.js';
import { durationOption, positiveInt } from '../parse.js';
import type { Reporter } from '../reporter.js';

export interface EmbedFlags {
  embedding?: string;
  limit?: number;
  batchSize?: number;
  watch: boolean;
  interval?: number;
  lock?: boolean;
}

const DEFAULT_INTERVAL_MS = 2 * 60 * 1000;

export function registerEmbed(program: Command, context: CommandContext): void {
  program
    .command('embed')
    .description('backfill a collection: embed every described meme that has no vector there (no image is re-described)')
    .option('--embedding <name>', 'embedding config whose collection is filled (default: the one marked is_default)')
    .option('--limit <n>', 'embed at most n memes (default: all missing)', positiveInt)
    .option('--batch-size <n>', 'texts per embedding request (default: batch_size of the embedding config)', positiveInt)
    .option('--watch', 'keep running: check again every --interval until SIGTERM / Ctrl+C', false)
    .option('--interval <duration>', 'pause between checks with --watch, e.g. 30s, 2m (default 2m)', durationOption)
    .option('--no-lock', 'do not take the per-collection run lock (overlapping runs stay safe: batches are claimed)')
    .addHelpText(
      'after',
      `
Examples:
  emomo embed --embedding jina
  emomo embed --embedding jina --batch-size 64 --limit 1000
  emomo embed --embedding jina --watch --interval 2m

Each batch is committed in one transaction: a killed run loses at most one batch and a
re-run continues where it stopped. With --watch, SIGTERM finishes the current batch,
prints the summary and exits 0.
Exit codes: 0 done, 1 some memes failed, 2 usage or config error, 3 aborted,
            4 another embed on this collection is running.`,
    )
    .action((flags: EmbedFlags) =>
      context.run((app, reporter, signal) => {
        const collection = app.embedding(flags.embedding).config.collection;
        const lock = { dbPath: app.dbPath, command: 'embed', scope: `collection ${collection}`, server: app.serverRunLocks };
        return runLocked(flags.lock !== false, lock, reporter, () => embed(flags, app, reporter, signal));
      }, 'update'),
    );
}

export async function embed(flags: EmbedFlags, app: App, reporter: Reporter, signal: AbortSignal): Promise<number> {
  if (flags.interval !== undefined && !flags.watch) throw new UsageError('--interval only makes sense with --watch');
  // Loaded here, not at the top: `emomo --help` must not load sharp (start-up).
  const { backfillEmbeddings, watchEmbeddings } = await import('../../pipeline/embed-service.js');
  const { config: embedding, embedder } = app.embedding(flags.embedding);
  await app.store.ensureCollection(embedding.collection, embedding.dimensions, embedder.model);
  const batchSize = flags.batchSize ?? embedding.batchSize;
  const deps: EmbedDeps = { store: app.store, embedder, redact: app.redact, owner: newOwnerId(), leaseMs: app.config.database.leaseMs, ...(embedding.input === 'image' ? { pictures: app.pictureSource } : {}) };

  const missing = await app.store.countUnembedded(embedding.collection);
  reporter.log('info', `embed → collection ${embedding.collection}`, {
    embedding: embedding.name,
    model: embedder.model,
    dims: embedding.dimensions,
    batch_size: batchSize,
    missing: missing.described,
    undescribed: missing.undescribed || undefined,
    watch: flags.watch || undefined,
  });
  const started = Date.now();
  let base = 0;
  const onBatch = (s: EmbedSummary) => {
    const done = base + s.embedded + s.skipped + s.failed;
    const rate = done / Math.max((Date.now() - started) / 1000, 0.001);
    reporter.progress(done, { rate: rate.toFixed(1), counts: `embedded ${base + s.embedded} failed ${s.failed}` });
  };
  const total = flags.limit ? Math.min(flags.limit, missing.described) : missing.described;
  reporter.startProgress(total, 'embed');
  const options = { collection: embedding.collection, batchSize, limit: flags.limit ?? 0, signal, onBatch };

  let summary: EmbedSummary & { passes?: number };
  if (flags.watch) {
    summary = await watchEmbeddings(deps, {
      ...options,
      intervalMs: flags.interval ?? DEFAULT_INTERVAL_MS,
      onPass: (pass) => {
        base += pass.embedded + pass.skipped + pass.failed;
        if (pass.embedded + pass.failed > 0) {
          reporter.log('info', 'embed pass', { embedded: pass.embedded, failed: pass.failed, skipped: pass.skipped });
        }
      },
    });
  } else {
    summary = await backfillEmbeddings(deps, options);
  }
  reporter.stopProgress();
  printSummary(reporter, summary, missing.undescribed);
  if (summary.aborted) return ExitCode.aborted;
  return summary.failed > 0 ? ExitCode.partial : ExitCode.ok;
}

function printSummary(reporter: Reporter, s: EmbedSummary & { passes?: number }, undescribed: number): void {
  if (reporter.flags.json) {
    reporter.json({ ...s, undescribed });
    return;
  }
  const seconds = s.duration_ms / 1000;
  reporter.say(
    `collection ${s.collection}: embedded ${s.embedded}, skipped ${s.skipped}, failed ${s.failed}` +
      ` — ${s.requests} request(s) in ${seconds.toFixed(1)} s${s.passes ? `, ${s.passes} pass(es)` : ''}`,
  );
  for (const f of s.failures.slice(0, 20)) reporter.say(`  ${f.md5}  ${f.reason}`);
  if (s.failed > 20) reporter.say(`  … and ${s.failed - 20} more`);
  if (undescribed > 0) {
    reporter.say(`${undescribed} meme(s) have no description at all and cannot be embedded from text; re-ingest their source`);
  }
  if (s.aborted) reporter.say(`stopped early: ${s.aborted}`);
}
