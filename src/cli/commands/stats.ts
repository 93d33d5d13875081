/** `emomo stats`: what the library holds. */
import path from 'node:path';
import type { Command } from 'commander';
import type { App } from '../../app.js';
import { ExitCode } from '../../errors.js';
import type { LibraryStats } from '../../pipeline/stats-service.js';
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
    .description('memes per source, vectors per collection, statuses, failures, storage size, descriptions per model and their cost per image')
    .option('--top <n>', 'most frequent failure reasons to show', positiveInt, 5)
    .option('--count-objects', 'also list object storage to count objects (default: only for local storage)')
    .option('--no-count-objects', 'never list object storage')
    .addHelpText('after', '\nExamples:\n  emomo stats\n  emomo stats --json | jq .collections')
    .action((flags: StatsFlags) => context.run((app, reporter) => stats(flags, app, reporter), 'read'));
}

export async function stats(flags: StatsFlags, app: App, reporter: Reporter): Promise<number> {
  const { libraryStats } = await import('../../pipeline/stats-service.js');
  const result = await libraryStats(app.store, app.storage, {
    topReasons: flags.top,
    countObjects: flags.countObjects ?? app.config.storage.type === 'local',
  });
  // Which library this is: running from another folder must not look like an empty library.
  const where = { database: path.resolve(app.dbPath), storage: app.storage.label };
  if (reporter.flags.json) reporter.json({ ...result, library: where });
  else printStats(reporter, result, where);
  return ExitCode.ok;
}

function printStats(reporter: Reporter, s: LibraryStats, where: { database: string; storage: string }): void {
  const objects = s.storage.objects === undefined ? '' : `, ${s.storage.objects} objects in storage`;
  reporter.result(`library: ${s.storage.memes} memes, ${formatBytes(s.storage.bytes)}${objects}`);
  reporter.result(`database: ${where.database}\nstorage: ${where.storage}`);
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
  if (s.description_costs.some((c) => c.measured > 0)) {
    const value = (x: number | null | undefined, unit = '') => (x === null || x === undefined ? '–' : `${x}${unit}`);
    const extra = (x: number | null | undefined, unit: string) => (x === null || x === undefined ? '' : ` (${x >= 0 ? '+' : ''}${x}${unit})`);
    reporter.result('\ncost per image (animated: more than a still, in brackets):');
    reporter.result(
      formatTable(
        ['model', 'prompt', 'kind', 'descriptions', 'frames', 'time', 'prompt tokens'],
        s.description_costs.map((c) => [
          c.vlm_model,
          c.prompt_version,
          c.kind,
          c.count,
          value(c.frames_per_image),
          value(c.ms_per_image, ' ms') + extra(c.extra_ms_vs_still, ' ms'),
          value(c.prompt_tokens_per_image) + extra(c.extra_prompt_tokens_vs_still, ''),
        ]),
      ),
    );
  }
}
