/**
 * The crawl service against a fake fabiaoqing on 127.0.0.1: what a crawl
 * stages, what it refuses and why, and that a second run asks for nothing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { crawl, type CrawlOptions, type CrawlSummary } from '../../src/crawl/crawl-service.js';
import { fabiaoqing } from '../../src/crawl/sites/fabiaoqing.js';
import { sniffFormat } from '../../src/images/format.js';
import { StagingSource } from '../../src/sources/staging-source.js';
import { MAX_BYTES, STANDARD_SAVED, STANDARD_SKIPS, standardSite, type FakeSite } from '../helpers/fake-site.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

let site: FakeSite;
let ws: Workspace;
let first: CrawlSummary;

function options(overrides: Partial<CrawlOptions> = {}): CrawlOptions {
  return {
    site: fabiaoqing,
    stagingRoot: ws.staging,
    baseUrl: site.url,
    limit: 100,
    threads: 5,
    rate: 100,
    timeoutMs: 1_500, // /img/slow.jpg answers after 5 s: both attempts time out; a loaded machine still gets robots.txt in time
    maxBytes: MAX_BYTES,
    maxPixels: 50_000_000,
    userAgent: 'emomo/0.1 (+test)',
    retry: { retries: 1, baseDelayMs: 20, maxDelayMs: 100, maxRetryAfterMs: 5_000 },
    ...overrides,
  };
}

const idOf = (p: string) => createHash('md5').update(`${site.url}${p}`).digest('hex').slice(0, 16);
const manifestLines = () =>
  fs.readFileSync(path.join(ws.staging, 'fabiaoqing', 'manifest.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

before(async () => {
  site = await standardSite();
  ws = makeWorkspace();
  first = await crawl(options());
});
after(async () => {
  await site.close();
  ws.cleanup();
});

test('a crawl stages every good image with its manifest line, and ends at the empty page', () => {
  assert.equal(first.ended, 'end-of-list');
  assert.equal(first.next_cursor, 3);
  assert.equal(first.pages, 3);
  assert.equal(first.saved, STANDARD_SAVED.length);
  const lines = manifestLines();
  // ids are md5(image URL)[0:16], so they are the same in every run; the redirect keeps the listed URL's id.
  assert.deepEqual(lines.map((l) => l.id).sort(), STANDARD_SAVED.map(idOf).sort());
  for (const line of lines) {
    const file = path.join(ws.staging, 'fabiaoqing', 'images', String(line.filename));
    const bytes = fs.readFileSync(file);
    const sniffed = sniffFormat(bytes);
    assert.ok('ext' in sniffed && sniffed.ext === line.format, `${line.filename} is ${line.format}`);
    assert.equal(line.filename, `${line.id}.${line.format}`);
    assert.equal(line.file_size, bytes.length);
    assert.equal(line.is_animated, line.format === 'gif', `${line.filename} animated flag`);
  }
  const a = lines.find((l) => l.id === idOf('/img/a.jpg'))!;
  assert.equal(a.category, '熊猫头');
  assert.deepEqual(a.tags, ['熊猫头', '我太难了']);
  assert.match(String(a.source_url), /\/biaoqing\/detail\/id\/1\.html$/);
  // the same image listed twice on page 1 and again on page 2 was fetched once
  assert.equal(site.count('/img/a.jpg'), 1);
  assert.equal(site.count('/robots.txt'), 1);
  assert.ok(site.requests.every((r) => r.userAgent === 'emomo/0.1 (+test)'));
});

test('every bad case ends as a reported skip with its reason, leaving no file behind', () => {
  assert.equal(first.skipped, Object.keys(STANDARD_SKIPS).length);
  for (const [p, reason] of Object.entries(STANDARD_SKIPS)) {
    const skip = first.skips.find((s) => s.id === idOf(p));
    assert.ok(skip, `${p} reported`);
    assert.match(skip.reason, reason, p);
  }
  // robots.txt: the disallowed image was never requested; the Allow inside the Disallow was
  assert.equal(site.count('/private/secret.jpg'), 0);
  assert.equal(site.count('/private/ok/f.png'), 1);
  // the endless body was cut off while reading, not buffered
  assert.ok(site.endlessClosed, 'the endless download was aborted');
  assert.ok(site.endlessBytesSent < 20 * 1024 * 1024, `sent ${site.endlessBytesSent} bytes`);
  // the 429 was retried after its Retry-After (1 s)
  const busy = site.requests.filter((r) => r.path === '/img/busy.png');
  assert.equal(busy.length, 2);
  assert.ok(busy[1]!.at - busy[0]!.at >= 950, `retried after ${busy[1]!.at - busy[0]!.at} ms`);
  // the redirect loop stopped after a handful of hops
  assert.ok(site.count('/r/loop-a.jpg') + site.count('/r/loop-b.jpg') <= 6);
});

test('nothing is written outside staging/<source>/, and no temporary file stays', () => {
  assert.deepEqual(fs.readdirSync(ws.staging), ['fabiaoqing']);
  const dir = path.join(ws.staging, 'fabiaoqing');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['images', 'manifest.jsonl', 'skipped.jsonl', 'state.json']);
  const images = fs.readdirSync(path.join(dir, 'images')).sort();
  assert.deepEqual(images, manifestLines().map((l) => String(l.filename)).sort());
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).cursor, 3);
  // the workspace holds only what makeWorkspace made plus the staging folder
  assert.deepEqual(fs.readdirSync(ws.dir).sort(), ['config.yaml', 'staging']);
});

test('the output ingests as a staging source: every line an item, none a problem', async () => {
  const entries = [];
  for await (const e of new StagingSource(ws.staging, 'fabiaoqing').entries()) entries.push(e);
  assert.equal(entries.length, STANDARD_SAVED.length);
  assert.ok(entries.every((e) => e.kind === 'item'));
});

test('a second crawl with the same cursor adds nothing and requests no staged or refused image', async () => {
  const before = site.imageRequests().length;
  const again = await crawl(options({ cursor: 1 }));
  assert.equal(again.saved, 0);
  assert.equal(again.skipped, 1); // slow.jpg timed out again
  assert.equal(again.known, 8); // a, b, c, d on page 1; a, moved, busy, ok/f on page 2
  assert.equal(again.refused_before, 6);
  // permanent refusals (404, HTML, too large, robots, loops) are remembered; the timed-out image is asked again
  assert.equal(site.imageRequests().length - before, 2, 'only slow.jpg (timeout = transient), twice with its retry');
  assert.equal(manifestLines().length, STANDARD_SAVED.length);
  assert.deepEqual(site.imageRequests().slice(before).map((r) => r.path), ['/img/slow.jpg', '/img/slow.jpg']);
});
