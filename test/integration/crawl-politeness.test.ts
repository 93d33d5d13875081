/**
 * Politeness, measured at the server: the request rate across pages and
 * images, robots.txt rules and status handling, the user agent.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crawl, type CrawlOptions } from '../../src/crawl/crawl-service.js';
import { HttpClient, defaultCrawlRetry } from '../../src/crawl/http-client.js';
import { RateLimiter } from '../../src/crawl/rate-limiter.js';
import { isAllowed, parseRobots } from '../../src/crawl/robots.js';
import { sleep } from '../../src/resilience/clock.js';
import { fabiaoqing } from '../../src/crawl/sites/fabiaoqing.js';
import { FakeSite, fixtureImages, serve, type PageImage } from '../helpers/fake-site.js';
import { makeWorkspace } from '../helpers/workspace.js';

function baseOptions(site: FakeSite, staging: string): CrawlOptions {
  return {
    site: fabiaoqing, stagingRoot: staging, baseUrl: site.url, limit: 1000, threads: 5, rate: 20,
    timeoutMs: 2_000, maxBytes: 1_000_000, maxPixels: 50_000_000, userAgent: 'emomo/0.1 (+test)',
    retry: { retries: 0, baseDelayMs: 10, maxDelayMs: 10, maxRetryAfterMs: 1_000 },
  };
}

test('the request rate never exceeds --rate by more than 10% in any window', async (t) => {
  // The acceptance is "≤ rate × 1.1 in any 10 s window" at rate 2, i.e. 20 requests a window. Scaled
  // to stay short: rate 10 and 2 s windows (still 20 a window); 3 pages × 12 images + robots + 4 list
  // pages = 41 requests, about 4 s.
  const rate = 10;
  const windowMs = 2_000;
  const jpegs = await fixtureImages().then((f) => f.jpegs(36));
  const routes = Object.fromEntries(jpegs.map((b, i) => [`/img/${i}.jpg`, serve(b, 'image/jpeg')]));
  const pages: PageImage[][] = [0, 1, 2].map((p) => jpegs.slice(p * 12, p * 12 + 12).map((_, i) => ({ url: `/img/${p * 12 + i}.jpg` })));
  const site = await new FakeSite({ pages, routes, robots: 'User-agent: *\nAllow: /\n' }).start();
  const ws = makeWorkspace();
  try {
    const summary = await crawl({ ...baseOptions(site, ws.staging), rate });
    assert.equal(summary.saved, 36);
    const times = site.requests.map((r) => r.at).sort((a, b) => a - b);
    assert.equal(times.length, 41);
    // Every window starting at a request (the worst case for a sliding window), as the server saw them.
    const allowed = rate * (windowMs / 1000) * 1.1;
    let worst = 0;
    for (let i = 0; i < times.length; i++) {
      let n = 0;
      while (i + n < times.length && times[i + n]! < times[i]! + windowMs) n++;
      worst = Math.max(worst, n);
    }
    assert.ok(worst <= allowed, `worst ${windowMs} ms window held ${worst} requests (limit ${allowed})`);
    const overall = (times.length - 1) / ((times.at(-1)! - times[0]!) / 1000);
    assert.ok(overall <= rate * 1.1, `overall ${overall.toFixed(1)} req/s`);
    // jittered, not a metronome (the exact 0.5–1.5 bounds are checked on the grid below, free of timer slack)
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    assert.ok(Math.max(...gaps) - Math.min(...gaps) >= 30, `gaps ${Math.min(...gaps)}–${Math.max(...gaps)} ms`);
    t.diagnostic(
      `rate ${rate}/s: ${times.length} requests, worst ${windowMs} ms window ${worst} (limit ${allowed}), ` +
        `overall ${overall.toFixed(2)} req/s, gaps ${Math.min(...gaps)}–${Math.max(...gaps)} ms`,
    );
  } finally {
    await site.close();
    ws.cleanup();
  }
});

test('the rate limiter grid: gaps of 0.5–1.5 intervals, never more than rate × W + 1 in a window', () => {
  let clock = 0;
  let r = 0;
  const randoms = [0, 0.999, 0, 0.999, 0.5];
  const limiter = new RateLimiter({ rate: 10, clock: { now: () => clock, sleep }, random: () => randoms[r++ % randoms.length]! });
  const slots = Array.from({ length: 50 }, () => limiter.reserve());
  const gaps = slots.slice(1).map((t, i) => t - slots[i]!);
  assert.ok(gaps.every((g) => g >= 50 && g <= 150), `gaps ${Math.min(...gaps)}–${Math.max(...gaps)}`);
  for (const start of slots) assert.ok(slots.filter((t) => t >= start && t < start + 1000).length <= 11);
  clock = 60_000; // after an idle minute the grid restarts at now: no burst of missed slots
  const late = [limiter.reserve(), limiter.reserve()];
  assert.ok(late[0]! >= 60_000 && late[1]! - late[0]! >= 50);
});

test('robots.txt: our group over *, longest match wins, Allow wins a tie, wildcards', () => {
  const text = [
    'User-agent: *', 'Disallow: /', '',
    'User-agent: emomo', 'Disallow: /biaoqing/detail/', 'Allow: /biaoqing/detail/id/1', 'Disallow: /*.php$', 'Disallow: /tie', 'Allow: /tie',
  ].join('\n');
  const policy = { kind: 'rules' as const, rules: parseRobots(text, 'emomo/0.1 (+x)') };
  assert.equal(isAllowed(policy, '/biaoqing/lists/page/1.html'), true); // our group has no rule for it; * is not consulted
  assert.equal(isAllowed(policy, '/biaoqing/detail/id/2.html'), false);
  assert.equal(isAllowed(policy, '/biaoqing/detail/id/1.html'), true); // the longer Allow wins
  assert.equal(isAllowed(policy, '/index.php'), false);
  assert.equal(isAllowed(policy, '/index.php?x=1'), true); // $ anchors the end
  assert.equal(isAllowed(policy, '/tie'), true);
  const other = { kind: 'rules' as const, rules: parseRobots(text, 'otherbot/1') };
  assert.equal(isAllowed(other, '/anything'), false); // falls back to *
});

test('robots.txt status: 5xx and unreachable disallow the host for the run, 4xx allows', async () => {
  const img = await fixtureImages();
  const pages = [[{ url: '/img/a.jpg' }]];
  const routes = { '/img/a.jpg': serve(img.jpg, 'image/jpeg') };
  for (const [robots, saved] of [[{ status: 503 }, 0], [{ status: 404 }, 1], [{ status: 403 }, 1]] as const) {
    const site = await new FakeSite({ pages, routes, robots }).start();
    const ws = makeWorkspace();
    try {
      const summary = await crawl({ ...baseOptions(site, ws.staging), rate: 100 });
      assert.equal(summary.saved, saved, `robots ${robots.status}`);
      if (saved === 0) {
        assert.equal(summary.ended, 'page-failed');
        assert.match(summary.end_reason ?? '', /robots\.txt answered 503/);
        assert.deepEqual(site.requests.map((r) => r.path), ['/robots.txt'], 'nothing fetched but robots.txt, once');
      }
    } finally {
      await site.close();
      ws.cleanup();
    }
  }
  // unreachable (a port fetch refuses to use): the host says nothing about what it forbids, so nothing is fetched (RFC 9309)
  const client = new HttpClient({ userAgent: 'emomo/0.1', timeoutMs: 500, limiter: new RateLimiter({ rate: 100 }), retry: { ...defaultCrawlRetry, retries: 0 } });
  assert.match((await client.robots.check(new URL('http://127.0.0.1:9/x'))) ?? '', /disallowed: robots\.txt unreachable \(network error: .+\), so the whole host is off limits/);
});

test('TLS verification cannot be switched off: NODE_TLS_REJECT_UNAUTHORIZED=0 is refused before any request', async () => {
  const site = await new FakeSite({ pages: [] }).start();
  const ws = makeWorkspace();
  try {
    await assert.rejects(crawl({ ...baseOptions(site, ws.staging), env: { NODE_TLS_REJECT_UNAUTHORIZED: '0' } }), /TLS certificate checks/);
    assert.equal(site.requests.length, 0);
  } finally {
    await site.close();
    ws.cleanup();
  }
});
