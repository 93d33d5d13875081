/** `emomo doctor`: check config, database, storage and providers; print a table or one JSON object. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../../config/duration.js';
import { ExitCode } from '../../errors.js';
import type { DoctorReport } from '../../health/doctor.js';
import type { CommandContext, GlobalOptions } from '../context.js';
import { Reporter } from '../reporter.js';
import { formatTable } from '../table.js';

export interface DoctorFlags {
  timeout: number;
}

function duration(value: string): number {
  try {
    const ms = parseDuration(value);
    if (ms <= 0) throw new Error('must be longer than 0');
    return ms;
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function registerDoctor(program: Command, context: CommandContext): void {
  program
    .command('doctor')
    .description('check the config, database, object storage and every configured provider with one tiny real request each')
    .addOption(
      new Option('--timeout <duration>', 'longest any single check may take: 500ms, 10s, 1m').argParser(duration).default(30_000, '30s'),
    )
    .addHelpText(
      'after',
      `
Checks: config (which file, valid), database (schema version, collection dimensions
vs the config), storage (write/read/delete of a probe object under _emomo-probe/),
describer (reads a tiny generated image), each embedding (embeds "ping", checks the
dimension). Secrets are never printed; hints name the env variable to fix.

Examples:
  emomo doctor
  emomo doctor --config configs/prod.yaml --json | jq '.checks[] | select(.status == "fail")'

Exit codes: 0 every check OK, 1 at least one check failed, 2 bad flags.`,
    )
    .action(async (flags: DoctorFlags) => {
      // Not context.run: a config that does not load is a failed check here, not an exit 2.
      const globals = program.opts<GlobalOptions>();
      const reporter = new Reporter({ json: !!globals.json, quiet: !!globals.quiet, verbose: !!globals.verbose });
      context.exitCode = await doctor(flags, globals, reporter);
    });
}

export async function doctor(flags: DoctorFlags, globals: GlobalOptions, reporter: Reporter): Promise<number> {
  const { runDoctor } = await import('../../health/doctor.js');
  const report = await runDoctor({ configPath: globals.config, dbPath: globals.db, env: process.env, timeoutMs: flags.timeout });
  if (reporter.flags.json) reporter.json(report);
  else printReport(reporter, report);
  return report.ok ? ExitCode.ok : ExitCode.partial;
}

function printReport(reporter: Reporter, report: DoctorReport): void {
  const rows = report.checks.flatMap((c) => {
    const row = [c.check, c.status.toUpperCase(), c.detail];
    return c.hint ? [row, ['', '', `→ ${c.hint}`]] : [row];
  });
  reporter.say(formatTable(['check', 'status', 'detail'], rows, ''));
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  reporter.say(failed === 0 ? '\nall checks passed' : `\n${failed} check${failed === 1 ? '' : 's'} failed`);
}
