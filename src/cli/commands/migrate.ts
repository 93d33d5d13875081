/** `emomo migrate --to postgres://…`: copy the SQLite library into PostgreSQL; no provider is called. */
import type { Command } from 'commander';
import type { App } from '../../app.js';
import { ExitCode } from '../../errors.js';
import type { MigrateSummary } from '../../pipeline/migrate-service.js';
import type { LibraryCounts } from '../../store/ports.js';
import type { CommandContext } from '../context.js';
import { runLocked } from '../lock.js';
import { positiveInt } from '../parse.js';
import type { Reporter } from '../reporter.js';
import { formatTable } from '../table.js';

export interface MigrateFlags {
  to: string;
  batchSize: number;
  lock?: boolean;
}

export function registerMigrate(program: Command, context: CommandContext): void {
  program
    .command('migrate')
    .description('move a SQLite library into PostgreSQL: memes, sources, descriptions, vectors, keyword index and jobs; no provider calls')
    .requiredOption('--to <url>', 'the PostgreSQL library to fill (postgres://…); created tables and collections as needed')
    .option('--batch-size <n>', 'rows per page; each page is one transaction on the target', positiveInt, 500)
    .option('--no-lock', 'do not take the migrate lock on the target')
    .addHelpText(
      'after',
      `
The source is the configured SQLite library (database.path, or --db FILE); it is
only read. Rows already in the target (same md5, source id, description key,
vector collection or job) are left alone, so a run that was killed or stopped is
simply run again, and a library can be merged into one that already has memes.
Stop ingest / embed cron runs on the source while it moves: what they write
after the move started is copied by the next run of this command.

Examples:
  emomo migrate --to postgres://emomo@db.example.com:5432/emomo
  emomo --db data/emomo.db migrate --to "$EMOMO_DATABASE_URL" --json

Exit codes: 0 the target holds at least every row of the source, 1 something is
missing in the target (see "short"), 2 usage or config error, 3 interrupted
(run it again), 4 another migrate into the same library is running.`,
    )
    .action((flags: MigrateFlags) => context.run((app, reporter, signal) => migrate(flags, app, reporter, signal)));
}

export async function migrate(flags: MigrateFlags, app: App, reporter: Reporter, signal: AbortSignal): Promise<number> {
  // Loaded here, not at the top: `emomo --help` must not load the stores (start-up).
  const { databaseLabel, databaseLocation, databaseSecret, openMigration } = await import('../../store/open-store.js');
  const { makeRedactor } = await import('../../redact.js');
  const { migrateLibrary } = await import('../../pipeline/migrate-service.js');
  const to = databaseLocation(app.config, flags.to);
  const redact = makeRedactor([databaseSecret(to)]);
  const { source, target } = openMigration(app.database, to);
  const label = databaseLabel(to);
  try {
    return await runLocked(flags.lock !== false, { dbPath: label, command: 'migrate', scope: 'library', server: target }, reporter, async () => {
      reporter.log('info', `migrate ${app.dbPath} → ${label}`, { batch_size: flags.batchSize });
      let step = '';
      const summary = await migrateLibrary(
        { source, target },
        {
          batchSize: flags.batchSize,
          signal,
          onProgress: (now, done, total) => {
            if (now !== step) {
              reporter.stopProgress();
              reporter.startProgress(total, now);
              step = now;
            }
            reporter.progress(done, {});
          },
        },
      );
      reporter.stopProgress();
      printSummary(reporter, summary, label);
      if (summary.aborted) return ExitCode.aborted;
      return summary.short.length > 0 ? ExitCode.partial : ExitCode.ok;
    });
  } catch (err) {
    // The target URL is not the configured one, so the app's redactor does not know its password.
    if (err instanceof Error) err.message = redact(err.message);
    throw err;
  } finally {
    await source.close();
    await target.close();
  }
}

const KINDS: Array<keyof LibraryCounts> = ['collections', 'memes', 'source_links', 'descriptions', 'vectors', 'keyword_rows', 'jobs'];

function printSummary(reporter: Reporter, s: MigrateSummary, label: string): void {
  if (reporter.flags.json) {
    reporter.json(s);
    return;
  }
  reporter.result(`migrated into ${label} in ${(s.duration_ms / 1000).toFixed(1)} s:`);
  reporter.result(formatTable(['rows', 'source', 'target', 'copied now'], KINDS.map((k) => [k, s.source[k], s.target[k], s.copied[k]])));
  if (s.short.length > 0) reporter.result(`the target holds fewer ${s.short.join(', ')} than the source: run \`emomo verify\` on the source`);
  if (s.aborted) reporter.result(`stopped early: ${s.aborted}`);
}
