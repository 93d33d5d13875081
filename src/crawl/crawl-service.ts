/**
 * `emomo crawl`: walks a site's list pages from a cursor, downloads the
 * images it has not staged yet and appends them to the staging manifest.
 *
 * Pages are read one after another; the images of a page are downloaded by
 * a small pool, all requests sharing one rate limiter. Ids already in the
 * manifest are skipped without a request. Every failed image is a reported
 * skip; a list page that cannot be fetched ends the run with the cursor
 * still on it. After each finished page the cursor is saved, so the next
 * (cron) run continues from there. An abort (SIGINT / SIGTERM) stops taking
 * new images and lets the downloads under way finish.
 */
import pLimit from 'p-limit';
import { UsageError } from '../errors.js';
import { readCrawlState, writeCrawlState } from './crawl-state.js';
import { downloadImage } from './download.js';
import type { RetryPolicy } from '../resilience/backoff.js';
import { FetchFailure, HttpClient, defaultCrawlRetry } from './http-client.js';
import { RateLimiter } from './rate-limiter.js';
import type { Candidate, CrawlSite } from './site.js';
import { StagingWriter, type OpenReport } from './staging-writer.js';

export interface CrawlOptions {
  site: CrawlSite;
  stagingRoot: string;
  /** Site root (a mirror, or a local server in tests); default: the site's own. */
  baseUrl?: string;
  /** First list page; default: the saved cursor, else 1. */
  cursor?: number;
  /** Stop after saving this many images. */
  limit: number;
  threads: number;
  /** Requests per second across everything the run fetches. */
  rate: number;
  timeoutMs: number;
  /** Largest image accepted, in bytes. */
  maxBytes: number;
  /** Largest image accepted, in pixels (decompression bombs). */
  maxPixels: number;
  userAgent: string;
  retry?: RetryPolicy;
  /** Ask again for images earlier runs refused for good (skipped.jsonl). */
  retryRefused?: boolean;
  signal?: AbortSignal;
  /** The process environment, checked for settings that weaken TLS. */
  env?: NodeJS.ProcessEnv;
  onEvent?: (event: CrawlEvent) => void;
}

export type CrawlEvent =
  | { kind: 'opened'; report: OpenReport; cursor: number; baseUrl: string }
  | { kind: 'page'; page: number; url: string; found: number; known: number; refused: number }
  | { kind: 'saved'; id: string; url: string; bytes: number; done: number }
  | { kind: 'skipped'; id: string; url: string; reason: string };

export type CrawlEnd = 'limit' | 'end-of-list' | 'page-failed' | 'aborted';

export interface CrawlSummary {
  source: string;
  base_url: string;
  cursor: number;
  next_cursor: number;
  ended: CrawlEnd;
  end_reason?: string;
  pages: number;
  found: number;
  saved: number;
  /** Already staged: skipped without a request. */
  known: number;
  /** Refused for good by an earlier run (skipped.jsonl): skipped without a request. */
  refused_before: number;
  /** Skipped in this run (each with a reason). */
  skipped: number;
  bytes: number;
  requests: number;
  /** The first skips, with their reasons (all are counted in `skipped`). */
  skips: { id: string; url: string; reason: string }[];
  repaired: { torn_line: string; removed_temp_files: number };
  duration_ms: number;
}

const MAX_LISTED_SKIPS = 50;
const MAX_PAGE_BYTES = 5 * 1024 * 1024;

export async function crawl(opts: CrawlOptions): Promise<CrawlSummary> {
  assertTlsVerification(opts.env ?? process.env);
  const started = Date.now();
  const { site, signal } = opts;
  const baseUrl = opts.baseUrl ?? site.defaultBaseUrl;
  let requests = 0;
  const client = new HttpClient({
    userAgent: opts.userAgent,
    timeoutMs: opts.timeoutMs,
    limiter: new RateLimiter({ rate: opts.rate }),
    retry: opts.retry ?? defaultCrawlRetry,
    signal,
    onRequest: () => requests++,
  });

  const writer = await StagingWriter.open(opts.stagingRoot, site.id, opts.retryRefused);
  try {
    const cursor = opts.cursor ?? (await readCrawlState(writer.paths.state))?.cursor ?? 1;
    opts.onEvent?.({ kind: 'opened', report: writer.report, cursor, baseUrl });
    const s = {
      pages: 0, found: 0, saved: 0, known: 0, refused_before: 0, skipped: 0, bytes: 0,
      skips: [] as CrawlSummary['skips'],
    };
    const tried = new Set<string>(); // ids attempted this run: a failed image is not fetched again from a later page
    const pool = pLimit(opts.threads);
    let active = 0;
    let page = cursor;
    let ended: CrawlEnd;
    let endReason: string | undefined;

    const fetchOne = async (c: Candidate): Promise<boolean> => {
      if (signal?.aborted || s.saved + active >= opts.limit) return false; // left for a later run
      active++;
      try {
        const image = await downloadImage(client, writer, c.id, c.imageUrl, opts);
        await writer.commit(image.temp, {
          id: c.id, ext: image.ext, category: c.category, tags: c.tags, source_url: c.sourceUrl,
          is_animated: image.isAnimated, format: image.format, image_url: c.imageUrl,
          file_size: image.bytes, crawled_at: new Date().toISOString(),
        });
        s.saved++;
        s.bytes += image.bytes;
        opts.onEvent?.({ kind: 'saved', id: c.id, url: c.imageUrl, bytes: image.bytes, done: s.saved });
      } catch (err) {
        if (!(err instanceof FetchFailure)) throw err;
        // Cut short by the stop signal before any byte arrived: not a skip, just left for the next run.
        if (signal?.aborted && err.details.transient) return false;
        s.skipped++;
        if (err.permanent) {
          await writer.recordRefusal({ id: c.id, image_url: c.imageUrl, reason: err.message, skipped_at: new Date().toISOString() });
        }
        if (s.skips.length < MAX_LISTED_SKIPS) s.skips.push({ id: c.id, url: c.imageUrl, reason: err.message });
        opts.onEvent?.({ kind: 'skipped', id: c.id, url: c.imageUrl, reason: err.message });
      } finally {
        active--;
      }
      return true;
    };

    for (;;) {
      if (signal?.aborted) { ended = 'aborted'; endReason = String(signal.reason ?? 'aborted'); break; }
      if (s.saved >= opts.limit) { ended = 'limit'; break; }
      const url = site.listPageUrl(baseUrl, page);
      let candidates: Candidate[];
      try {
        candidates = site.parseListPage(await client.getText(url, MAX_PAGE_BYTES), url);
      } catch (err) {
        if (!(err instanceof FetchFailure)) throw err;
        if (signal?.aborted) { ended = 'aborted'; endReason = String(signal.reason ?? 'aborted'); break; }
        ended = 'page-failed';
        endReason = `list page ${page}: ${err.message}`;
        break;
      }
      s.pages++;
      const known = candidates.filter((c) => writer.has(c.id)).length;
      const refused = candidates.filter((c) => !writer.has(c.id) && writer.wasRefused(c.id) && !tried.has(c.id)).length;
      const fresh = candidates.filter((c) => !writer.has(c.id) && !writer.wasRefused(c.id) && !tried.has(c.id));
      s.found += candidates.length;
      s.known += known;
      s.refused_before += refused;
      opts.onEvent?.({ kind: 'page', page, url, found: candidates.length, known, refused });
      if (candidates.length === 0) { ended = 'end-of-list'; break; }
      const attempted = await Promise.all(fresh.map((c) => pool(() => fetchOne(c))));
      fresh.forEach((c, i) => attempted[i] && tried.add(c.id));
      // A page with images left over (limit reached or interrupted) is the next run's starting point.
      if (attempted.some((x) => !x)) continue;
      page++;
      await writeCrawlState(writer.paths.state, page);
    }
    await writeCrawlState(writer.paths.state, page);

    const tail = writer.report.tail;
    return {
      source: site.id, base_url: baseUrl, cursor, next_cursor: page, ended,
      ...(endReason ? { end_reason: endReason } : {}),
      ...s, requests,
      repaired: {
        torn_line: tail.kind === 'truncated' ? `cut ${tail.bytes} bytes of a torn last line` : tail.kind === 'terminated' ? 'added a missing final newline' : 'none',
        removed_temp_files: writer.report.removedTemps,
      },
      duration_ms: Date.now() - started,
    };
  } finally {
    await writer.close();
  }
}

/** TLS verification is always on; an environment that turns it off process-wide is refused, not obeyed. */
export function assertTlsVerification(env: NodeJS.ProcessEnv): void {
  if (env.NODE_TLS_REJECT_UNAUTHORIZED === '0') {
    throw new UsageError('NODE_TLS_REJECT_UNAUTHORIZED=0 turns off TLS certificate checks; emomo crawl does not run that way. Unset it.');
  }
}

