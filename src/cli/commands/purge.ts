/** `emomo purge --source S`: remove what one source brought into the library. */
import type { Command } from 'commander';
import type { App } from '../../app.js';
import { ExitCode, UsageError } from '../../errors.js';
import { purgeSource, type PurgeReport } from '../../pipeline/purge-service.js';
import type { CommandContext } from '../context.js';
import { positiveInt } from '../parse.js';
import type { Reporter } from '../reporter.js';
import { formatTable } from '../table.js';

export interface PurgeFlags {
  source: string;
  dryRun: boolean;
  yes: boolean;
  examples: number;
}

export function registerPurge(program: Command, context: CommandContext): void {
  program
    .command('purge')
    .description("remove a source's memes, vectors, index rows, descriptions, objects and jobs (images another source shares stay)")
    .requiredOption('--source <source>', 'source type as recorded at ingest, e.g. staging:fabiaoqing, chinesebqb, dir:/abs/path')
    .option('--dry-run', 'show what would be removed (counts and examples); change nothing', false)
    .option('--yes', 'really delete (required unless --dry-run: purge never asks on stdin)', false)
    .option('--examples <n>', 'examples shown of removed and kept memes', positiveInt, 5)
    .addHelpText(
      'after',
      `
Database rows go in one transaction, then objects. An object whose delete fails
stays as an orphan that \`emomo verify --repair\` removes. See docs/verify.md.

Examples:
  emomo purge --source staging:fabiaoqing --dry-run
  emomo purge --source staging:fabiaoqing --yes

Exit codes: 0 done, 1 some objects could not be deleted, 2 usage error (e.g. no --yes).`,
    )
    .action((flags: PurgeFlags) => context.run((app, reporter) => purge(flags, app, reporter)));
}

export async function purge(flags: PurgeFlags, app: App, reporter: Reporter): Promise<number> {
  if (!flags.dryRun && !flags.yes) {
    throw new UsageError(`purge deletes data: add --yes to remove source "${flags.source}", or --dry-run to see what would go`);
  }
  const report = await purgeSource(app.store, app.storage, {
    source: flags.source,
    dryRun: flags.dryRun,
    examples: flags.examples,
  });
  if (reporter.flags.json) reporter.json(report);
  else printReport(reporter, report);
  return report.objects_failed > 0 ? ExitCode.partial : ExitCode.ok;
}

function printReport(reporter: Reporter, r: PurgeReport): void {
  if (r.source_links === 0 && r.memes_removed === 0 && r.memes_kept === 0 && r.jobs === 0) {
    reporter.say(`nothing from source "${r.source}"`);
    return;
  }
  reporter.say(r.dry_run ? `dry run: purging "${r.source}" would remove:` : `purged "${r.source}":`);
  reporter.say(
    formatTable(
      ['what', 'count'],
      [
        ['source links', r.source_links],
        ['memes removed', r.memes_removed],
        ['memes kept (shared with another source)', r.memes_kept],
        ['primary source moved', r.primary_source_moved],
        ['vectors', r.vectors],
        ['keyword-index rows', r.fts_rows],
        ['descriptions', r.descriptions],
        [r.dry_run ? 'objects' : 'objects deleted', r.dry_run ? r.objects : r.objects_deleted],
        ['jobs', r.jobs],
      ],
    ),
  );
  if (r.examples.removed.length) reporter.say(`removed, e.g.: ${r.examples.removed.join(', ')}`);
  if (r.examples.kept.length) reporter.say(`kept, e.g.: ${r.examples.kept.join(', ')}`);
  if (r.objects_failed > 0) {
    reporter.say(`${r.objects_failed} objects could not be deleted (left for \`emomo verify --repair\`):`);
    for (const f of r.object_failures) reporter.say(`  ${f}`);
  }
}
