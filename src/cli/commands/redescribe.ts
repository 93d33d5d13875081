/** `emomo redescribe --animated`: read memes again with the describer as now configured, on purpose. */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { App } from '../../app.js';
import { ExitCode, UsageError } from '../../errors.js';
import type { RedescribeSummary } from '../../pipeline/redescribe-service.js';
import { newOwnerId } from '../../store/claim-owner.js';
import type { CommandContext } from '../context.js';
import { runLocked } from '../lock.js';
import { positiveInt } from '../parse.js';
import type { Reporter } from '../reporter.js';

export interface RedescribeFlags {
  animated: boolean;
  all: boolean;
  embedding?: string;
  limit?: number;
  workers?: number;
  dryRun: boolean;
  yes: boolean;
  lock?: boolean;
}

export function registerRedescribe(program: Command, context: CommandContext): void {
  program
    .command('redescribe')
    .description('describe memes again with the describer as configured now (new prompt version, frames, model) and re-embed them')
    .option('--animated', 'animated memes only (their frames are read again)', false)
    .option('--all', 'every meme whose vector came from another describer or prompt', false)
    .option('--embedding <name>', 'embedding config whose collection is updated (default: the default embedding)')
    .option('--limit <n>', 'at most n memes this run (a re-run continues)', positiveInt)
    .option('--workers <n>', 'memes read at once (default: ingest.workers from the config)', positiveInt)
    .option('--dry-run', 'count the memes and describer calls, change nothing', false)
    .option('--yes', 'start without asking, even when the calls are paid (for cron)', false)
    .option('--no-lock', 'do not take the per-collection run lock (overlapping runs stay safe: memes are claimed)')
    .addHelpText(
      'after',
      `
A new prompt version or frame setting never re-describes a meme by itself:
ingest keeps reusing the description a meme has. This command does it on
purpose: a meme whose vector was made from another description is read again
(or given the current description if one was made already), embedded, and its
vector and keyword row replaced. Descriptions are paid once and kept, so a
stopped run loses nothing and a re-run continues where it stopped.

With a remote VLM the paid calls are counted first; on a terminal you are
asked to confirm, elsewhere --yes is required.

Examples:
  emomo redescribe --animated --dry-run
  emomo redescribe --animated --yes --limit 500
  emomo redescribe --all --embedding jina

Exit codes: 0 done, 1 some memes failed, 2 usage or config error (or paid calls
            not confirmed), 3 aborted, 4 another redescribe on this collection is running.`,
    )
    .action((flags: RedescribeFlags) =>
      context.run((app, reporter, signal) => {
        const collection = app.embedding(flags.embedding).config.collection;
        const lock = { dbPath: app.dbPath, command: 'redescribe', scope: `collection ${collection}`, server: app.serverRunLocks };
        return runLocked(flags.lock !== false, lock, reporter, () => runRedescribe(flags, app, reporter, signal));
      }),
    );
}

export async function runRedescribe(flags: RedescribeFlags, app: App, reporter: Reporter, signal: AbortSignal, confirm = askOnTerminal): Promise<number> {
  if (flags.animated === flags.all) throw new UsageError('say which memes: --animated or --all');
  // Loaded here, not at the top: `emomo --help` must not load sharp (start-up).
  const { redescribe, staleFilter } = await import('../../pipeline/redescribe-service.js');
  const { config: embedding, embedder } = app.embedding(flags.embedding);
  const { describer, store, config } = app;
  await store.ensureCollection(embedding.collection, embedding.dimensions, embedder.model);
  const filter = staleFilter(describer, embedding.collection, flags.animated);
  const counts = await store.countStale(filter);
  const memes = flags.limit ? Math.min(flags.limit, counts.memes) : counts.memes;
  const calls = Math.min(memes, counts.toDescribe);
  const paid = config.vlm.provider !== 'local';
  const what = `${memes} ${flags.animated ? 'animated ' : ''}meme(s) in collection ${embedding.collection} to bring to ${describer.model} (prompt ${describer.promptVersion}): ` +
    `${calls} describer call(s)${paid && calls > 0 ? ' (paid)' : ''}, ${memes - calls} reuse a description already made`;
  reporter.say(what);
  if (flags.dryRun || memes === 0) {
    if (reporter.flags.json) reporter.json({ collection: embedding.collection, memes, describer_calls: calls, paid, dry_run: flags.dryRun });
    return ExitCode.ok;
  }
  if (paid && calls > 0 && !flags.yes && !(await confirm(`Make up to ${calls} paid call(s) to ${describer.model}? [y/N] `))) {
    throw new UsageError(`not confirmed: ${calls} paid describer call(s) need --yes (or a "y" on a terminal)`);
  }

  const started = Date.now();
  reporter.startProgress(memes, 'redescribe');
  const summary = await redescribe(
    { store, storage: app.storage, describer, embedder, redact: app.redact, owner: newOwnerId() },
    {
      collection: embedding.collection,
      animatedOnly: flags.animated,
      limits: { maxPixels: config.ingest.maxPixels },
      maxSide: config.vlm.maxSide,
      lanes: flags.workers ?? config.ingest.workers,
      limit: flags.limit ?? 0,
      signal,
      onProgress: (s) => {
        const done = s.described + s.reused + s.skipped + s.failed;
        reporter.progress(done, { rate: (done / Math.max((Date.now() - started) / 1000, 0.001)).toFixed(1), counts: `described ${s.described} failed ${s.failed}` });
      },
    },
  );
  reporter.stopProgress();
  printSummary(reporter, summary);
  if (summary.aborted) return ExitCode.aborted;
  return summary.failed > 0 ? ExitCode.partial : ExitCode.ok;
}

/** Asks on the terminal; without one there is nobody to ask, so the answer is no. */
async function askOnTerminal(question: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function printSummary(reporter: Reporter, s: RedescribeSummary): void {
  if (reporter.flags.json) {
    reporter.json(s);
    return;
  }
  reporter.say(
    `collection ${s.collection}: described ${s.described}, reused ${s.reused}, skipped ${s.skipped}, failed ${s.failed}` +
      ` in ${(s.duration_ms / 1000).toFixed(1)} s`,
  );
  for (const f of s.failures.slice(0, 20)) reporter.say(`  ${f.md5}  ${f.reason}`);
  if (s.failed > 20) reporter.say(`  … and ${s.failed - 20} more`);
  if (s.aborted) reporter.say(`stopped early: ${s.aborted}; a re-run continues`);
}
