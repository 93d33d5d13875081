/** `emomo crawl`: read flags, run the crawl service, print what it staged and skipped. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { App } from '../../app.js';
import type { CrawlEvent, CrawlSummary } from '../../crawl/crawl-service.js';
import { DEFAULT_CRAWL_RETRIES } from '../../config/limits.js';
import { siteById, siteIds } from '../../crawl/sites/index.js';
import { ExitCode, UsageError } from '../../errors.js';
import type { CommandContext } from '../context.js';
import { durationOption, positiveInt } from '../parse.js';
import type { Reporter } from '../reporter.js';

export const DEFAULT_USER_AGENT = 'emomo/0.1 (meme library crawler; honours robots.txt)';

export interface CrawlFlags {
  source: string;
  limit: number;
  cursor?: number;
  threads: number;
  rate: number;
  timeout?: number;
  maxBytes: number;
  baseUrl?: string;
  userAgent: string;
  retries: number;
  retrySkipped: boolean;
}

export function registerCrawl(program: Command, context: CommandContext): void {
  program
    .command('crawl')
    .description('download new memes from a site into the staging area (polite: robots.txt, rate limit, resumable)')
    .requiredOption('--source <id>', `site to crawl: ${siteIds().join(', ')}`)
    .option('--limit <n>', 'stop after saving n new images', positiveInt, 100)
    .option('--cursor <page>', 'list page to start from (default: where the last run stopped, else 1)', positiveInt)
    .option('--threads <n>', 'image downloads at once', positiveInt, 5)
    .option('--rate <n>', 'requests per second to the site, all requests together; each gap is jittered 0.5–1.5×', positiveNumber, 2)
    .option('--timeout <duration>', 'give up on a request after this long without data, e.g. 15s, 500ms (default: 15s)', durationOption)
    .addOption(
      new Option('--max-bytes <size>', 'largest image kept, e.g. 10MiB, 500KiB or bytes (KB and MB mean the same binary units); larger downloads are cut off')
        .argParser(byteSize)
        .default(10 * 1024 * 1024, '10MiB'),
    )
    .option('--base-url <url>', 'site root to crawl instead of the real site (a mirror)')
    .option('--user-agent <text>', 'User-Agent sent with every request and matched against robots.txt', DEFAULT_USER_AGENT)
    .option('--retries <n>', 'retries of one request on 429 / 5xx / network errors (Retry-After honoured)', nonNegativeInt, DEFAULT_CRAWL_RETRIES)
    .option('--retry-skipped', 'also ask again for images earlier runs refused for good (404, not an image, too large)', false)
    .addHelpText(
      'after',
      `
Writes <sources.staging.path>/<source>/manifest.jsonl and images/; the next
cursor is saved in state.json there. Skipped images do not fail the run.

Examples:
  emomo crawl --source fabiaoqing --limit 100
  emomo crawl --source fabiaoqing --cursor 5 --threads 5 --rate 2
  emomo crawl --source fabiaoqing && emomo ingest --source=staging:fabiaoqing

Exit codes: 0 done (skips included), 1 a list page could not be fetched, 2 usage or config error, 3 interrupted.`,
    )
    .action((flags: CrawlFlags) => context.run((app, reporter, signal) => runCrawl(flags, app, reporter, signal)));
}

export async function runCrawl(flags: CrawlFlags, app: App, reporter: Reporter, signal: AbortSignal): Promise<number> {
  const site = await siteById(flags.source);
  const { isHttpUrl } = await import('../../config/schema.js');
  const { crawl } = await import('../../crawl/crawl-service.js');
  const { defaultCrawlRetry } = await import('../../crawl/http-client.js');
  if (flags.baseUrl !== undefined && !isHttpUrl(flags.baseUrl)) {
    throw new UsageError(`--base-url must be an http(s) URL, got "${flags.baseUrl}"`);
  }
  reporter.startProgress(flags.limit, `crawl ${site.id}`);
  const summary = await crawl({
    site,
    stagingRoot: app.config.sources.stagingPath,
    baseUrl: flags.baseUrl,
    cursor: flags.cursor,
    limit: flags.limit,
    threads: flags.threads,
    rate: flags.rate,
    timeoutMs: flags.timeout ?? 15_000,
    maxBytes: flags.maxBytes,
    maxPixels: app.config.ingest.maxPixels,
    userAgent: flags.userAgent,
    retry: { ...defaultCrawlRetry, retries: flags.retries },
    retryRefused: flags.retrySkipped,
    signal,
    onEvent: (event) => logEvent(reporter, event),
  });
  reporter.stopProgress();
  printSummary(reporter, summary);
  if (summary.ended === 'aborted') return ExitCode.aborted;
  return summary.ended === 'page-failed' ? ExitCode.partial : ExitCode.ok;
}

function logEvent(reporter: Reporter, event: CrawlEvent): void {
  switch (event.kind) {
    case 'opened': {
      const { report } = event;
      reporter.log('info', `crawl ${event.baseUrl} from page ${event.cursor}`, { staged: report.known, refused_before: report.refused });
      if (report.tail.kind === 'truncated') reporter.log('warn', `repaired the manifest: cut a torn last line (${report.tail.bytes} bytes) left by a crash`);
      if (report.tail.kind === 'terminated') reporter.log('warn', 'repaired the manifest: added the missing final newline');
      if (report.removedTemps > 0) reporter.log('warn', `removed ${report.removedTemps} unfinished download(s) left by a crash`);
      if (report.malformedLines > 0) reporter.log('warn', `the manifest has ${report.malformedLines} malformed line(s); see emomo staging stats`);
      return;
    }
    case 'page':
      return reporter.log('info', `page ${event.page}`, { images: event.found, staged: event.known, refused_before: event.refused });
    case 'saved':
      reporter.log('debug', 'saved', { id: event.id, bytes: event.bytes, url: event.url });
      return reporter.progress(event.done, { rate: '', counts: '' });
    case 'skipped':
      return reporter.log('warn', 'skipped', { id: event.id, url: event.url, reason: event.reason });
  }
}

function printSummary(reporter: Reporter, s: CrawlSummary): void {
  if (reporter.flags.json) return reporter.json(s);
  reporter.say(
    `saved ${s.saved} (${(s.bytes / 1024 / 1024).toFixed(1)} MB), already staged ${s.known}, refused before ${s.refused_before}, ` +
      `skipped ${s.skipped} — ${s.pages} page(s), ${s.requests} requests in ${(s.duration_ms / 1000).toFixed(1)} s`,
  );
  for (const skip of s.skips) reporter.say(`  skipped ${skip.id}  ${skip.url}  ${skip.reason}`);
  if (s.skips.length < s.skipped) reporter.say(`  … and ${s.skipped - s.skips.length} more`);
  const why = { limit: 'limit reached', 'end-of-list': 'no more images', 'page-failed': s.end_reason, aborted: s.end_reason };
  reporter.say(`stopped: ${why[s.ended] ?? s.ended}. next cursor: ${s.next_cursor} (saved; the next run starts there)`);
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number above 0, got "${value}"`);
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number >= 0, got "${value}"`);
  return n;
}

const BYTE_UNITS: Record<string, number> = {
  '': 1, b: 1, kb: 1024, kib: 1024, k: 1024, mb: 1024 ** 2, mib: 1024 ** 2, m: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3, g: 1024 ** 3,
};

/** "10MiB", "500KB", "1048576": bytes (binary units, as sizes are printed). */
function byteSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined || Number(m[1]) <= 0) {
    throw new InvalidArgumentError(`expected a size such as 10MiB, 500KiB or a number of bytes, got "${value}"`);
  }
  return Math.floor(Number(m[1]) * unit);
}
