/**
 * What every command shares: global flags, the composition root, signal
 * handling and the translation of errors into exit codes and messages. Only
 * src/cli decides exit codes; only main.ts calls process.exit.
 */
import { createApp, type App, type AppOverrides } from '../app.js';
import {
  AbortedError,
  ConfigError,
  DimensionMismatchError,
  EmomoError,
  ExitCode,
  LockedError,
  UsageError,
  errorMessage,
} from '../errors.js';
import { makeRedactor } from '../redact.js';
import { crashReport } from './crash-report.js';
import { Reporter, type GlobalFlags } from './reporter.js';
import { abortOnSignals } from './signals.js';

export interface GlobalOptions extends GlobalFlags {
  config?: string;
  db?: string;
}

export type CommandBody = (app: App, reporter: Reporter, signal: AbortSignal) => Promise<number>;

export class CommandContext {
  exitCode: number = ExitCode.ok;

  constructor(
    private readonly globals: () => GlobalOptions,
    private readonly overrides: AppOverrides = {},
  ) {}

  async run(body: CommandBody): Promise<void> {
    const options = this.globals();
    const reporter = new Reporter({ json: !!options.json, quiet: !!options.quiet, verbose: !!options.verbose });
    const { signal, dispose } = abortOnSignals((name) =>
      reporter.log('warn', `${name} received: finishing in-flight items, then stopping (again to force)`),
    );
    let app: App | undefined;
    try {
      const log = reporter.log.bind(reporter);
      app = createApp({ configPath: options.config, dbPath: options.db, signal, log }, this.overrides);
      this.exitCode = await body(app, reporter, signal);
    } catch (err) {
      reporter.stopProgress();
      this.exitCode = exitCodeFor(err);
      const redact = app ? app.redact : makeRedactor([]); // before the app: common key shapes only
      if (this.exitCode === ExitCode.internal) {
        const report = crashReport(err, { redact, verbose: !!options.verbose });
        reporter.log('error', report.line);
        if (options.verbose) process.stderr.write(`${report.trace}\n`);
        return;
      }
      reporter.log('error', redact(errorMessage(err)));
      if (options.verbose && this.exitCode !== ExitCode.usage && err instanceof Error && err.stack) {
        process.stderr.write(`${redact(err.stack)}\n`);
      }
    } finally {
      dispose();
      await app?.close();
    }
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof ConfigError || err instanceof DimensionMismatchError) {
    return ExitCode.usage;
  }
  if (err instanceof AbortedError) return ExitCode.aborted;
  if (err instanceof LockedError) return ExitCode.locked;
  // A provider or storage failure that ended a command is an operational failure; anything else is a bug.
  return err instanceof EmomoError ? ExitCode.partial : ExitCode.internal;
}
