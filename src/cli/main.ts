/**
 * The commander program: global options and one file per command. A command
 * file defines its flags and help here and imports its service inside its
 * action, so `--help`, `--version` and every other command load none of it
 * (test/e2e/startup-modules.test.ts; constants a flag needs live in
 * config/limits.ts).
 */
import { Command, CommanderError } from 'commander';
import type { AppOverrides } from '../app.js';
import { ExitCode, UsageError } from '../errors.js';
import { registerCrawl } from './commands/crawl.js';
import { registerDoctor } from './commands/doctor.js';
import { registerDupes } from './commands/dupes.js';
import { registerIngest } from './commands/ingest.js';
import { registerMigrate } from './commands/migrate.js';
import { registerEmbed } from './commands/embed.js';
import { registerRetryPending } from './commands/retry-pending.js';
import { registerPurge } from './commands/purge.js';
import { registerRedescribe } from './commands/redescribe.js';
import { registerRecall } from './commands/recall.js';
import { registerServe } from './commands/serve.js';
import { registerStaging } from './commands/staging.js';
import { registerStats } from './commands/stats.js';
import { registerVerify } from './commands/verify.js';
import { VERSION } from '../version.js';
import { CommandContext, errorJson, type GlobalOptions } from './context.js';

export function buildProgram(overrides: AppOverrides = {}): { program: Command; context: CommandContext } {
  const program = new Command('emomo');
  const context = new CommandContext(() => program.opts<GlobalOptions>(), overrides);
  program
    .description('Build, maintain and search a library of meme images (表情包).')
    .version(VERSION, '-V, --version')
    .option('--config <file>', 'config file; relative paths in it are relative to its folder (env EMOMO_CONFIG; default configs/config.yaml, else built-in defaults)', process.env.EMOMO_CONFIG)
    .option('--db <file|url>', 'SQLite file or postgres:// URL (env EMOMO_DB; default database.url, else database.path, from the config)', process.env.EMOMO_DB)
    .option('--json', 'print one machine-readable JSON object on stdout: the result, or {"error": {code, exit, message}}', false)
    .option('--quiet', 'print only errors (and the --json result)', false)
    .option('--verbose', 'print a line per item and stack traces', false)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Exit codes: 0 success, 1 some items failed, 2 usage or config error, 3 aborted (signal or provider failure),
4 locked (another run of the same command holds the lock; see docs/operations.md),
5 unexpected error (a bug: the message says where the full trace went; --verbose prints it).
Docs: README.md`,
    );
  registerCrawl(program, context);
  registerStaging(program, context);
  registerIngest(program, context);
  registerRetryPending(program, context);
  registerEmbed(program, context);
  registerRedescribe(program, context);
  registerRecall(program, context);
  registerVerify(program, context);
  registerStats(program, context);
  registerPurge(program, context);
  registerDupes(program, context);
  registerDoctor(program, context);
  registerMigrate(program, context);
  registerServe(program, context);
  return { program, context };
}


export async function main(argv: string[]): Promise<number> {
  const { program, context } = buildProgram();
  try {
    await program.parseAsync(argv);
    return context.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; bad usage with 2.
      if (err.exitCode === 0) return ExitCode.ok;
      // `--json` promises one object on stdout, also when the flags themselves are wrong.
      if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(errorJson(new UsageError(err.message), ExitCode.usage, err.message.replace(/^error: /, '')))}\n`);
      return ExitCode.usage;
    }
    throw err;
  }
}
