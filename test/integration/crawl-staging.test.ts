/**
 * The staging area across runs: cursor and limit, a torn manifest line from
 * a crash, orphans reported by stats and removed by clean, the crawl lock.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { crawl, type CrawlOptions } from '../../src/crawl/crawl-service.js';
import { fabiaoqing } from '../../src/crawl/sites/fabiaoqing.js';
import { StagingSource } from '../../src/sources/staging-source.js';
import { LockedError } from '../../src/errors.js';
import { acquireCrawlLock } from '../../src/staging/lock.js';
import { applyClean, planClean, sourceStats } from '../../src/staging/staging-inspect.js';
import { FakeSite, fixtureImages, serve } from '../helpers/fake-site.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

let site: FakeSite;

before(async () => {
  const img = await fixtureImages();
  const jpegs = await img.jpegs(6);
  const routes = Object.fromEntries(jpegs.map((b, i) => [`/img/${i}.jpg`, serve(b, 'image/jpeg')]));
  routes['/img/anim.gif'] = serve(img.gif, 'image/gif');
  site = await new FakeSite({
    routes,
    pages: [
      [{ url: '/img/0.jpg' }, { url: '/img/1.jpg' }, { url: '/img/2.jpg' }],
      [{ url: '/img/3.jpg' }, { url: '/img/anim.gif' }, { url: '/img/4.jpg' }],
    ],
  }).start();
});
after(() => site.close());

function options(ws: Workspace, overrides: Partial<CrawlOptions> = {}): CrawlOptions {
  return {
    site: fabiaoqing, stagingRoot: ws.staging, baseUrl: site.url, limit: 100, threads: 2, rate: 200,
    timeoutMs: 2_000, maxBytes: 1_000_000, maxPixels: 50_000_000, userAgent: 'emomo/0.1 (+test)', ...overrides,
  };
}

const dir = (ws: Workspace) => path.join(ws.staging, 'fabiaoqing');
const manifest = (ws: Workspace) => path.join(dir(ws), 'manifest.jsonl');
const ids = (ws: Workspace) => fs.readFileSync(manifest(ws), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);

test('--limit stops mid-page, the saved cursor resumes there, and the next run finishes the list', async () => {
  const ws = makeWorkspace();
  try {
    const one = await crawl(options(ws, { limit: 2, threads: 1 }));
    assert.equal(one.saved, 2);
    assert.equal(one.ended, 'limit');
    assert.equal(one.next_cursor, 1, 'page 1 still has an image left');
    const two = await crawl(options(ws)); // no --cursor: continues from state.json
    assert.equal(two.cursor, 1);
    assert.equal(two.known, 2);
    assert.equal(two.saved, 4);
    assert.equal(two.ended, 'end-of-list');
    assert.equal(two.next_cursor, 3);
    assert.equal(new Set(ids(ws)).size, 6);
    const before = site.imageRequests().length;
    const three = await crawl(options(ws)); // cron again: starts at the empty page, asks for no image
    assert.equal(three.cursor, 3);
    assert.equal(three.saved, 0);
    assert.equal(site.imageRequests().length, before);
  } finally {
    ws.cleanup();
  }
});

test('a torn last manifest line (crash mid-append) is cut off at the next start and reported', async () => {
  const ws = makeWorkspace();
  try {
    await crawl(options(ws, { limit: 2, threads: 1 }));
    const good = fs.readFileSync(manifest(ws), 'utf8');
    fs.appendFileSync(manifest(ws), '{"id":"deadbeef00000000","filename":"dead'); // no newline: torn
    const again = await crawl(options(ws));
    assert.match(again.repaired.torn_line, /cut \d+ bytes/);
    const text = fs.readFileSync(manifest(ws), 'utf8');
    assert.ok(text.startsWith(good), 'the complete lines are untouched');
    assert.ok(text.endsWith('\n'));
    const entries = [];
    for await (const e of new StagingSource(ws.staging, 'fabiaoqing').entries()) entries.push(e);
    assert.equal(entries.length, 6);
    assert.ok(entries.every((e) => e.kind === 'item'), 'every line parses and has its image');
  } finally {
    ws.cleanup();
  }
});

test('a complete last line without its newline (hand-written) keeps its item', async () => {
  const ws = makeWorkspace();
  try {
    await crawl(options(ws, { limit: 1, threads: 1 }));
    fs.writeFileSync(manifest(ws), fs.readFileSync(manifest(ws), 'utf8').trimEnd());
    const again = await crawl(options(ws));
    assert.equal(again.repaired.torn_line, 'added a missing final newline');
    assert.equal(again.known, 1);
    assert.equal(new Set(ids(ws)).size, 6);
  } finally {
    ws.cleanup();
  }
});

test('stats reports counts, formats, animated share and orphans; clean --orphans removes only orphans; clean keeps the cursor', async () => {
  const ws = makeWorkspace();
  try {
    await crawl(options(ws));
    const images = path.join(dir(ws), 'images');
    fs.writeFileSync(path.join(images, 'stray.png'), 'x'); // image without a line
    fs.writeFileSync(path.join(images, '.tmp-abc-1-ff'), 'partial'); // unfinished download
    fs.appendFileSync(manifest(ws), '{"id":"gone","filename":"gone.jpg","format":"jpg"}\n'); // line without its image
    const s = await sourceStats(ws.staging, 'fabiaoqing');
    assert.equal(s.items, 6);
    assert.deepEqual(s.formats, { jpg: 5, gif: 1 });
    assert.equal(s.animated, 1);
    assert.equal(s.animated_share, 0.167);
    assert.equal(s.cursor, 3);
    assert.deepEqual(s.orphans.images_without_line, { count: 1, examples: ['images/stray.png'] });
    assert.deepEqual(s.orphans.temp_files, { count: 1, examples: ['images/.tmp-abc-1-ff'] });
    assert.equal(s.orphans.lines_without_image.count, 1);
    assert.ok(fs.existsSync(path.join(images, 'stray.png')), 'stats changed nothing');

    const orphans = await planClean(ws.staging, 'fabiaoqing', 'orphans');
    assert.deepEqual(orphans.targets.map((t) => path.basename(t)).sort(), ['.tmp-abc-1-ff', 'stray.png']);
    await applyClean(ws.staging, orphans);
    const after = await sourceStats(ws.staging, 'fabiaoqing');
    assert.equal(after.items, 6);
    assert.equal(after.orphans.images_without_line.count + after.orphans.temp_files.count, 0);

    const all = await planClean(ws.staging, 'fabiaoqing', 'all');
    assert.equal(all.files, 6 + 2); // images, manifest, skipped.jsonl
    assert.ok(fs.existsSync(manifest(ws)), 'planning deletes nothing');
    await applyClean(ws.staging, all);
    assert.deepEqual(fs.readdirSync(dir(ws)).sort(), ['images', 'state.json']);
    assert.deepEqual(fs.readdirSync(images), []);
  } finally {
    ws.cleanup();
  }
});

test('a second crawl of the same source while one runs is refused; a dead holder is taken over', async () => {
  const ws = makeWorkspace();
  try {
    fs.mkdirSync(dir(ws), { recursive: true });
    const lock = path.join(dir(ws), '.crawl.lock');
    const held = acquireCrawlLock(lock, 'fabiaoqing'); // held by this (live) process
    await assert.rejects(crawl(options(ws)), (err: unknown) => err instanceof LockedError && /another crawl of "fabiaoqing" is running/.test(err.message));
    held.release();
    // A lock left by a process that no longer exists (a kill -9 leftover).
    fs.writeFileSync(lock, JSON.stringify({ pid: 999999999, host: os.hostname(), command: 'crawl', scope: 'fabiaoqing', started: 'then' }) + '\n');
    const summary = await crawl(options(ws));
    assert.equal(summary.saved, 6);
    assert.equal(fs.existsSync(lock), false, 'released at the end');
  } finally {
    ws.cleanup();
  }
});
