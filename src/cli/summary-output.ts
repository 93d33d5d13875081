/** Prints a run summary: one JSON object with --json, a short report otherwise. */
import type { RunSummary } from '../pipeline/outcome.js';
import type { Reporter } from './reporter.js';
import { formatTable } from './table.js';

export function printRunSummary(reporter: Reporter, summary: RunSummary): void {
  if (reporter.flags.json) {
    reporter.json(summary);
    // Cron mails and logs keep stderr: say why the run stopped there too.
    if (summary.aborted) reporter.log('error', `stopped early: ${summary.aborted}`);
    return;
  }
  const total = summary.added + summary.reused + summary.skipped + summary.failed;
  const seconds = summary.duration_ms / 1000;
  const rate = total / Math.max(seconds, 0.001);
  const prefix = summary.dry_run ? 'dry run, would have: ' : '';
  reporter.say(
    `${prefix}added ${summary.added}, reused ${summary.reused}, skipped ${summary.skipped}, failed ${summary.failed}` +
      ` — ${total} items in ${seconds.toFixed(1)} s${summary.dry_run ? '' : ` (${rate.toFixed(1)} items/s)`}`,
  );
  if (summary.failures.length > 0) {
    reporter.say('failures:');
    reporter.say(formatTable(['item', 'stage', 'reason'], summary.failures.map((f) => [f.source_id, f.stage, f.reason])));
    if (summary.failures.length < summary.failed) {
      reporter.say(`  … and ${summary.failed - summary.failures.length} more (see the jobs table)`);
    }
  }
  if (summary.aborted) reporter.say(`stopped early: ${summary.aborted}`);
}
