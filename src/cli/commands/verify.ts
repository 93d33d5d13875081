/** `emomo verify [--repair]`: prove the library is consistent, or fix it. */
import type { Command } from 'commander';
import type { App } from '../../app.js';
import { ExitCode } from '../../errors.js';
import { verifyLibrary, type Issue, type VerifyReport } from '../../pipeline/verify-service.js';
import type { CommandContext } from '../context.js';
import { positiveInt } from '../parse.js';
import type { Reporter } from '../reporter.js';
import { formatTable } from '../table.js';

export interface VerifyFlags {
  repair: boolean;
  examples: number;
}

export function registerVerify(program: Command, context: CommandContext): void {
  program
    .command('verify')
    .description('cross-check memes, descriptions, vectors, the keyword index and object storage')
    .option('--repair', 'fix what can be fixed (orphans deleted, lost memes removed, index rebuilt) and say what was done', false)
    .option('--examples <n>', 'examples shown per kind of problem', positiveInt, 5)
    .addHelpText(
      'after',
      `
Run it while no ingest is writing: an image stored a moment before its rows
are committed would look like an orphan object. See docs/verify.md.

Examples:
  emomo verify
  emomo verify --repair --json

Exit codes: 0 consistent (or fully repaired), 1 inconsistencies remain, 2 usage or config error.`,
    )
    .action((flags: VerifyFlags) => context.run((app, reporter) => verify(flags, app, reporter)));
}

export async function verify(flags: VerifyFlags, app: App, reporter: Reporter): Promise<number> {
  reporter.log('info', `verify ${app.storage.label}${flags.repair ? ' (repair)' : ''}`);
  const report = await verifyLibrary(app.store, app.storage, {
    repair: flags.repair,
    examples: flags.examples,
    onProgress: (step, n) => reporter.log('debug', step, { n }),
  });
  if (reporter.flags.json) reporter.json(report);
  else printReport(reporter, report);
  return report.consistent ? ExitCode.ok : ExitCode.partial;
}

function printReport(reporter: Reporter, report: VerifyReport): void {
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
    const remaining = report.remaining ?? [];
    const now = report.totals_after_repair ? ` (${describeTotals(report.totals_after_repair)})` : '';
    reporter.say(remaining.length === 0 ? `after repair: no inconsistencies${now}` : `still inconsistent after repair${now}:`);
    if (remaining.length > 0) reporter.say(issueTable(remaining));
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
