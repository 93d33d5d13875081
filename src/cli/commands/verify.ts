/** `emomo verify [--repair] [--deep]`: prove the library is consistent, or heal it. */
import type { Command } from 'commander';
import type { App } from '../../app.js';
import { ExitCode } from '../../errors.js';
import type { Issue, VerifyReport } from '../../pipeline/verify-service.js';
import type { CommandContext } from '../context.js';
import { positiveInt } from '../parse.js';
import type { Reporter } from '../reporter.js';
import { formatTable } from '../table.js';

export interface VerifyFlags {
  repair: boolean;
  deep: boolean;
  force: boolean;
  examples: number;
}

export function registerVerify(program: Command, context: CommandContext): void {
  program
    .command('verify')
    .description('cross-check memes, descriptions, vectors, the keyword index and object storage')
    .option('--repair', 'heal what can be healed (lost objects re-stored from their source files, index rebuilt, missing vectors re-queued for embed, orphans deleted) and say what was done', false)
    .option('--deep', "also read every object back against its md5 and run the database's full integrity check", false)
    .option('--force', 'let --repair delete more than 20% of the memes or objects (or 100, whichever is larger)', false)
    .option('--examples <n>', 'examples shown per kind of problem', positiveInt, 5)
    .addHelpText(
      'after',
      `
Safe to run (also from cron) beside ingest, retry-pending, embed and purge on
the same library: nothing a running command is writing is ever deleted. A
library that does not exist is refused, never created. See docs/verify.md.

Examples:
  emomo verify
  emomo verify --repair --json
  emomo verify --deep --repair

Exit codes: 0 consistent (or fully repaired), 1 inconsistencies remain (or the
database file is damaged), 2 usage or config error, no library there, or a
repair that would delete too much (it names what; --force to go ahead).`,
    )
    .action((flags: VerifyFlags) => context.run((app, reporter) => verify(flags, app, reporter), flags.repair ? 'update' : 'read'));
}

export async function verify(flags: VerifyFlags, app: App, reporter: Reporter): Promise<number> {
  const mode = [flags.deep && 'deep', flags.repair && 'repair', flags.force && 'force'].filter(Boolean).join(', ');
  reporter.log('info', `verify ${app.dbPath} and ${app.storage.label}${mode ? ` (${mode})` : ''}`);
  const [{ verifyLibrary }, { SourceOriginals }] = await Promise.all([import('../../pipeline/verify-service.js'), import('../../sources/originals.js')]);
  const report = await verifyLibrary(app.store, app.storage, {
    repair: flags.repair,
    deep: flags.deep,
    force: flags.force,
    examples: flags.examples,
    originals: new SourceOriginals(app.config.sources),
    onProgress: (step, n) => reporter.log('debug', step, { n }),
  });
  if (reporter.flags.json) reporter.json(report);
  else printReport(reporter, report, (collection) => embeddingName(app, collection));
  if (report.refused) {
    reporter.log('error', `verify --repair refused: ${report.refused.reason}; nothing was deleted (add --force to repair anyway)`);
    return ExitCode.usage;
  }
  return report.consistent ? ExitCode.ok : ExitCode.partial;
}

/** The `--embedding` name that fills a collection (the collection's own name when no config entry uses it). */
function embeddingName(app: App, collection: string): string {
  return app.config.embeddings.find((e) => e.collection === collection)?.name ?? collection;
}

function printReport(reporter: Reporter, report: VerifyReport, embedding: (collection: string) => string): void {
  reporter.say(`checked ${describeTotals(report.totals)}`);
  reporter.say(report.found === 0 ? 'no inconsistencies' : `found ${report.found} inconsistencies:`);
  if (report.found > 0) reporter.say(issueTable(report.issues));
  if (report.repaired) {
    reporter.say('repaired:');
    reporter.say(
      formatTable(
        ['kind', 'fixed', 'failed', 'action'],
        report.repaired.map((a) => [a.kind, a.fixed, a.failed ?? 0, a.action]),
      ),
    );
    for (const a of report.repaired) {
      if (a.failed) reporter.say(`could not repair ${a.failed} ${a.kind}: ${(a.examples ?? []).join('; ')}`);
    }
    const remaining = report.remaining ?? [];
    const now = report.totals_after_repair ? ` (${describeTotals(report.totals_after_repair)})` : '';
    reporter.say(remaining.length === 0 ? `after repair: no inconsistencies${now}` : `still inconsistent after repair${now}:`);
    if (remaining.length > 0) reporter.say(issueTable(remaining));
  }
  if (report.refused) {
    const r = report.refused;
    reporter.say(`repair refused: it would delete ${r.memes} memes and ${r.objects} objects (at most ${r.limit.memes} and ${r.limit.objects} without --force)`);
    if (r.examples.length > 0) reporter.say(`  e.g. ${r.examples.join(', ')}`);
  }
  for (const { collection, memes } of report.requeued ?? []) {
    reporter.say(`re-queued ${memes} memes for \`emomo embed --embedding ${embedding(collection)}\` (collection ${collection}): run it to finish the repair`);
  }
  if (report.undescribed) {
    reporter.say(`${report.undescribed.count} memes have no description to embed from: re-ingest their source, e.g. ${report.undescribed.examples.join(', ')}`);
  }
  for (const note of report.notes) reporter.say(`note: ${note}`);
  const gaps = report.backfill.filter((g) => g.missing > 0);
  if (gaps.length > 0) {
    reporter.say('not yet in every collection (fill with `emomo embed --embedding NAME`; not an error):');
    reporter.say(formatTable(['collection', 'memes missing'], gaps.map((g) => [g.collection, g.missing])));
  }
  reporter.say(`took ${(report.duration_ms / 1000).toFixed(1)} s`);
}

function describeTotals(t: VerifyReport['totals']): string {
  return `${t.memes} memes, ${t.vectors} vectors, ${t.descriptions} descriptions, ${t.fts_rows} index rows, ${t.objects} objects`;
}

function issueTable(issues: Issue[]): string {
  return formatTable(
    ['kind', 'count', 'examples'],
    issues.map((i) => [i.kind, i.count, i.examples.join(', ')]),
  );
}
