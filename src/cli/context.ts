/**
 * What every command shares: global flags, the composition root, signal
 * handling and the translation of errors into exit codes and messages. Only
 * src/cli decides exit codes; only main.ts calls process.exit.
 */
import type { App, AppOverrides, LibraryAccess } from '../app.js';
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
import { terminalText } from './terminal-text.js';

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

  /** `access` says what the command does with the library (default: may create it, as ingest does). */
  async run(body: CommandBody, access: LibraryAccess = 'create'): Promise<void> {
    const options = this.globals();
    const reporter = new Reporter({ json: !!options.json, quiet: !!options.quiet, verbose: !!options.verbose });
    const { signal, dispose } = abortOnSignals((name) =>
      reporter.log('warn', `${name} received: finishing the work in flight, then stopping (again to force)`),
    );
    let app: App | undefined;
    try {
      // Loaded here, not at start-up: --help and --version never load the store or providers.
      const { createApp } = await import('../app.js');
      const log = reporter.log.bind(reporter);
      app = createApp({ configPath: options.config, dbPath: options.db, access, signal, log }, this.overrides);
      // A command on an existing library reports a missing or unreadable one before anything else (locks included).
      if (access !== 'create') app.store;
      this.exitCode = await body(app, reporter, signal);
    } catch (err) {
      reporter.stopProgress();
      this.exitCode = exitCodeFor(err);
      const redact = app ? app.redact : makeRedactor([]); // before the app: common key shapes only
      if (this.exitCode === ExitCode.internal) {
        const report = crashReport(err, { redact, verbose: !!options.verbose });
        reporter.log('error', report.line);
        if (options.json) reporter.json(errorJson(err, this.exitCode, report.line));
        if (options.verbose) process.stderr.write(`${terminalText(report.trace, { multiline: true })}\n`);
        return;
      }
      const message = redact(errorMessage(err));
      reporter.log('error', message);
      if (options.json) reporter.json(errorJson(err, this.exitCode, message));
      if (options.verbose && this.exitCode !== ExitCode.usage && err instanceof Error && err.stack) {
        process.stderr.write(`${terminalText(redact(err.stack), { multiline: true })}\n`);
      }
    } finally {
      // Closing (OCR workers, connections) can take a moment: a Ctrl+C meanwhile still exits cleanly (code 3).
      await app?.close();
      dispose();
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

/** What `--json` prints when a command fails before it has a result: `{"error": {code, exit, message}}`. */
export function errorJson(err: unknown, exit: number, message: string) {
  return { error: { code: exit === ExitCode.internal ? 'internal' : errorCode(err), exit, message } };
}

function errorCode(err: unknown): string {
  if (err instanceof ConfigError) return 'config';
  if (err instanceof UsageError || err instanceof DimensionMismatchError) return 'usage';
  if (err instanceof AbortedError) return 'aborted';
  if (err instanceof LockedError) return 'locked';
  return 'failed';
}
