/**
 * What every command shares: global flags, the composition root, signal
 * handling and the translation of errors into exit codes and messages. Only
 * src/cli decides exit codes; only main.ts calls process.exit.
 */
import { createApp, type App, type AppOverrides, type LibraryAccess } from '../app.js';
import {
  AbortedError,
  ConfigError,
  DimensionMismatchError,
  ExitCode,
  LockedError,
  UsageError,
  errorMessage,
} from '../errors.js';
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

  /** `access`: whether the command may create a library (default) or needs an existing one. */
  async run(body: CommandBody, access: LibraryAccess = 'create'): Promise<void> {
    const options = this.globals();
    const reporter = new Reporter({ json: !!options.json, quiet: !!options.quiet, verbose: !!options.verbose });
    const { signal, dispose } = abortOnSignals((name) =>
      reporter.log('warn', `${name} received: finishing in-flight items, then stopping (again to force)`),
    );
    let app: App | undefined;
    try {
      app = createApp({ configPath: options.config, dbPath: options.db, access }, this.overrides);
      this.exitCode = await body(app, reporter, signal);
    } catch (err) {
      reporter.stopProgress();
      this.exitCode = exitCodeFor(err);
      const message = app ? app.redact(errorMessage(err)) : errorMessage(err);
      reporter.log('error', message);
      if (options.verbose && this.exitCode !== ExitCode.usage && err instanceof Error && err.stack) {
        process.stderr.write(`${app ? app.redact(err.stack) : err.stack}\n`);
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
  return ExitCode.partial;
}
