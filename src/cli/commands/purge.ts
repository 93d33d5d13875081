/** `emomo purge --source S`: remove what one source brought into the library. */
import type { Command } from 'commander';
import type { App } from '../../app.js';
import { ExitCode } from '../../errors.js';
import type { PurgeReport } from '../../pipeline/purge-service.js';
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
    .option('--dry-run', 'show what would be removed (counts and examples); change nothing (the default without --yes)', false)
    .option('--yes', 'really delete (without it purge only shows what would go, like staging clean; it never asks on stdin)', false)
    .option('--examples <n>', 'examples shown of removed and kept memes', positiveInt, 5)
    .addHelpText(
      'after',
      `
Rows go, and the objects to delete are recorded, in one transaction; then the
objects are deleted, each checked again first. Safe beside a running ingest
(even of the same source): an object a meme uses again is never deleted.
Deletes that fail, or that wait for a running ingest, are finished by the next
purge or \`emomo verify --repair\`. See docs/verify.md.

Examples:
  emomo purge --source staging:fabiaoqing            # dry run
  emomo purge --source staging:fabiaoqing --yes

Exit codes: 0 done (or dry run), 1 some objects could not be deleted, 2 usage or config error.`,
    )
    .action((flags: PurgeFlags) => context.run((app, reporter) => purge(flags, app, reporter), flags.dryRun || !flags.yes ? 'read' : 'update'));
}

export async function purge(flags: PurgeFlags, app: App, reporter: Reporter): Promise<number> {
  const dryRun = flags.dryRun || !flags.yes;
  const [{ purgeSource }, { sourceName }] = await Promise.all([import('../../pipeline/purge-service.js'), import('../../sources/open-source.js')]);
  const report = await purgeSource(app.store, app.storage, {
    source: sourceName(flags.source, (await app.store.filterValues()).sources),
    dryRun,
    examples: flags.examples,
  });
  if (reporter.flags.json) reporter.json(report);
  else printReport(reporter, report);
  if (dryRun && !flags.dryRun) reporter.say(`dry run: add --yes to remove source "${report.source}"`);
  return report.objects_failed > 0 ? ExitCode.partial : ExitCode.ok;
}

function printReport(reporter: Reporter, r: PurgeReport): void {
  if (r.source_links === 0 && r.memes_removed === 0 && r.memes_kept === 0 && r.jobs === 0 && r.objects_deleted === 0) {
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
        ...(r.objects_in_use > 0 ? [['objects kept (a meme uses them again)', r.objects_in_use] as [string, number]] : []),
        ['jobs', r.jobs],
      ],
    ),
  );
  if (r.examples.removed.length) reporter.say(`removed, e.g.: ${r.examples.removed.join(', ')}`);
  if (r.examples.kept.length) reporter.say(`kept, e.g.: ${r.examples.kept.join(', ')}`);
  if (r.objects_waiting > 0) {
    reporter.say(`${r.objects_waiting} object deletes wait for a running ingest: the next purge or \`emomo verify --repair\` finishes them`);
  }
  if (r.objects_failed > 0) {
    reporter.say(`${r.objects_failed} objects could not be deleted (the next purge or \`emomo verify --repair\` tries again):`);
    for (const f of r.object_failures) reporter.say(`  ${f}`);
  }
}
