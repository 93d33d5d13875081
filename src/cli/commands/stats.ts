/** `emomo stats`: what the library holds. */
import type { Command } from 'commander';
import type { App } from '../../app.js';
import { ExitCode } from '../../errors.js';
import { libraryStats, type LibraryStats } from '../../pipeline/stats-service.js';
import type { CommandContext } from '../context.js';
import { positiveInt } from '../parse.js';
import type { Reporter } from '../reporter.js';
import { formatBytes, formatTable } from '../table.js';

export interface StatsFlags {
  top: number;
  countObjects?: boolean;
}

export function registerStats(program: Command, context: CommandContext): void {
  program
    .command('stats')
    .description('memes per source, vectors per collection, statuses, failures, storage size, descriptions per model')
    .option('--top <n>', 'most frequent failure reasons to show', positiveInt, 5)
    .option('--count-objects', 'also list object storage to count objects (default: only for local storage)')
    .option('--no-count-objects', 'never list object storage')
    .addHelpText('after', '\nExamples:\n  emomo stats\n  emomo stats --json | jq .collections')
    .action((flags: StatsFlags) => context.run((app, reporter) => stats(flags, app, reporter)));
}

export async function stats(flags: StatsFlags, app: App, reporter: Reporter): Promise<number> {
  const result = await libraryStats(app.store, app.storage, {
    topReasons: flags.top,
    countObjects: flags.countObjects ?? app.config.storage.type === 'local',
  });
  if (reporter.flags.json) reporter.json(result);
  else printStats(reporter, result);
  return ExitCode.ok;
}

function printStats(reporter: Reporter, s: LibraryStats): void {
  const objects = s.storage.objects === undefined ? '' : `, ${s.storage.objects} objects in storage`;
  reporter.result(`library: ${s.storage.memes} memes, ${formatBytes(s.storage.bytes)}${objects}`);
  reporter.result('\nsources (a meme counts under every source that offered it):');
  reporter.result(
    formatTable(
      ['source', 'memes', 'animated', 'size'],
      s.sources.map((r) => [r.source, r.memes, `${(r.animated_share * 100).toFixed(1)}%`, formatBytes(r.bytes)]),
    ),
  );
  reporter.result('\ncollections:');
  reporter.result(formatTable(['collection', 'vectors', 'dims', 'model'], s.collections.map((c) => [c.collection, c.vectors, c.dims, c.model])));
  reporter.result('\nmemes by status:');
  reporter.result(formatTable(['status', 'memes'], s.memes_by_status.map((r) => [r.status, r.count])));
  reporter.result('\njobs by status:');
  reporter.result(formatTable(['status', 'jobs'], s.jobs_by_status.map((r) => [r.status, r.count])));
  if (s.top_failure_reasons.length > 0) {
    reporter.result('\ntop failure reasons:');
    reporter.result(formatTable(['jobs', 'stage', 'reason'], s.top_failure_reasons.map((r) => [r.count, r.stage, r.reason])));
  }
  reporter.result('\ndescriptions by model:');
  reporter.result(
    formatTable(
      ['model', 'prompt', 'descriptions', 'prompt tokens', 'completion tokens'],
      s.descriptions_by_model.map((d) => [d.vlm_model, d.prompt_version, d.count, d.prompt_tokens, d.completion_tokens]),
    ),
  );
}
