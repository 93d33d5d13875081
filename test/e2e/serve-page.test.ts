/**
 * The search page in a real headless browser: Debian's chromium driven by
 * playwright-core (no browser download), against `emomo serve` over part of
 * the sample set ingested with the offline defaults. Typing 我太难了 shows its
 * meme first, loaded; a tag chip filters; the keyboard moves through the grid
 * and copies; a picture chosen, dropped or pasted finds its original first,
 * combined with text and filters, and a library without a picture
 * collection says so; a phone-sized screen has no sideways scrolling; a library
 * behind a token asks for it; nothing is fetched from anywhere else.
 * Screenshots go to the test's temporary folder (their paths are printed).
 *
 * Without /usr/bin/chromium the suite is skipped with one line, unless CI is
 * set (.ci/run installs it): then it fails.
 */
/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { runEmbed } from '../helpers/maintenance.js';
import { makeVariant, sampleEntries } from '../helpers/picture-variants.js';
import { runIngest } from '../helpers/run-ingest.js';
import { recallPath, request, startServer, type RunningServer } from '../helpers/serve.js';
import { copySample, makeWorkspace, sampleDir, type Workspace } from '../helpers/workspace.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const missing = fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install chromium): the search page is not tested`;
const TEXT_EMBEDDING = '  - name: local\n    provider: local\n    dimensions: 512\n    collection: emomo-local\n';
const PICTURE_EMBEDDING = '  - name: pictures\n    provider: local\n    input: image\n    dimensions: 192\n    collection: pictures\n';
const SAMPLES = 12;
const onCi = !!process.env.CI && !/^(0|false)$/i.test(process.env.CI);
if (missing && onCi) throw new Error(`${missing}, and CI is set: .ci/run installs it (scripts/ci-chromium.sh)`);

describe('the search page in chromium', { skip: missing }, () => {
  let ws: Workspace;
  let server: RunningServer;
  let browser: BrowserContext;
  let shots: string;
  const requested: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    ws = makeWorkspace('', `embeddings:\n${TEXT_EMBEDDING}${PICTURE_EMBEDDING}`);
    copySample(ws, 'sample', SAMPLES);
    const run = await runIngest(ws, { source: 'staging:sample' });
    assert.equal(run.summary.added, SAMPLES, run.log);
    const pictures = await runEmbed(ws, 'pictures');
    assert.equal(pictures.report.embedded, SAMPLES, pictures.log);
    server = await startServer(ws.config);
    shots = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-page-'));
    // A fresh profile each run: no cookie, cache or permission from an earlier one.
    browser = await chromium.launchPersistentContext(path.join(shots, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', ...FLAGS],
      viewport: { width: 1280, height: 860 },
    });
    await browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    browser.on('request', (r) => requested.push(r.url()));
    browser.on('weberror', (e) => pageErrors.push(e.error().message));
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    ws?.cleanup();
  });

  const open = async (url = `${server.url}/`): Promise<Page> => {
    const page = await browser.newPage();
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
    await page.goto(url);
    return page;
  };
  /** The md5s the grid shows, in order. */
  const shown = (page: Page) => page.$$eval('.card img', (imgs) => imgs.map((i) => (i as HTMLImageElement).src.match(/([0-9a-f]{32})\.\w+$/)![1]));
  const api = async (params: Record<string, string | string[] | number>) => (await request(server.url, recallPath(params))).json;

  test('type 我太难了: its meme comes first, as a loaded image, with caption and score on hover', async (t) => {
    const page = await open();
    assert.ok(await page.isVisible('#empty'), 'an empty page explains itself');
    await page.keyboard.type('我太难了');
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('.card img');
      return img !== null && img.complete && img.naturalWidth > 0;
    });
    const expected = await api({ q: '我太难了', top_k: 40 });
    assert.equal(expected.results[0].ocr_text, '我太难了');
    const first = await page.$eval('.card img', (img) => ({ alt: (img as HTMLImageElement).alt, width: (img as HTMLImageElement).naturalWidth }));
    assert.deepEqual(first.alt, '我太难了');
    assert.ok(first.width > 0);
    assert.deepEqual(await shown(page), expected.results.map((r: { md5: string }) => r.md5), 'the grid is the API answer, in order');
    assert.match(await page.textContent('#status') ?? '', /\d+ results? · \d+ ms/);
    assert.match(page.url(), /\?q=%E6%88%91%E5%A4%AA%E9%9A%BE%E4%BA%86$/, 'the search is in the address, to share');

    await page.hover('.card:first-child');
    await page.waitForTimeout(250);
    const hover = await page.$eval('.card:first-child figcaption', (f) => ({ text: f.textContent, opacity: getComputedStyle(f).opacity }));
    assert.equal(hover.opacity, '1');
    assert.match(hover.text ?? '', /^我太难了words \+ \d+% similar$/);
    const file = path.join(shots, 'search-desktop.png');
    await page.screenshot({ path: file });
    t.diagnostic(`screenshot: ${file}`);
    await page.close();
  });

  test('a tag chip narrows the search to memes with that tag; its × takes it off again', async () => {
    const page = await open(`${server.url}/?q=${encodeURIComponent('开心')}`);
    await page.waitForSelector('.card img');
    const before = await shown(page);
    await page.click('.suggested-chips .chip.tag:text-matches("^#柴犬 ")');
    await page.waitForFunction(() => location.search.includes('tag='));
    await page.waitForSelector('.active-chips .chip.on:has-text("#柴犬 ×")');
    const expected = await api({ q: '开心', tag: ['柴犬'], top_k: 40 });
    assert.ok(expected.results.length > 0 && expected.results.every((r: { tags: string[] }) => r.tags.includes('柴犬')));
    await page.waitForFunction((n) => document.querySelectorAll('.card').length === n, expected.results.length);
    assert.deepEqual(await shown(page), expected.results.map((r: { md5: string }) => r.md5));
    assert.ok(expected.results.length < before.length, 'fewer memes than without the filter');
    await page.click('.active-chips .chip.on:has-text("#柴犬 ×")');
    await page.waitForFunction((n) => document.querySelectorAll('.card').length === n, before.length);
    await page.close();
  });

  test('keyboard: / to search, arrows through the grid, Enter copies the image, U its URL; animated memes are marked', async () => {
    const page = await open(`${server.url}/?q=${encodeURIComponent('谢谢老板')}`);
    await page.waitForSelector('.card img');
    assert.equal(await page.$eval('.card:first-child img', (i) => (i as HTMLImageElement).src.endsWith('.gif')), true);
    assert.equal(await page.textContent('.card:first-child .badge'), 'GIF');
    await page.fill('#q', '开心');
    await page.waitForFunction(() => document.querySelectorAll('.card').length > 2);
    await page.click('main');
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'q');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.index), '0');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.index), '1');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.toast.show');
    assert.match(await page.textContent('.toast') ?? '', /Image copied/);
    const types = await page.evaluate(async () => (await navigator.clipboard.read()).flatMap((item) => item.types));
    assert.deepEqual(types, ['image/png']);
    await page.keyboard.press('u');
    await page.waitForFunction(() => document.querySelector('.toast')?.textContent === 'URL copied');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.match(copied, new RegExp(`^${server.url}/objects/[0-9a-f]{2}/[0-9a-f]{32}\\.(png|jpg|gif|webp)$`));
    await page.keyboard.press('Escape');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'q');
    await page.close();
  });

  test('on a phone-sized screen: two columns or more, no sideways scrolling', async (t) => {
    const phone = await browser.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${server.url}/?q=${encodeURIComponent('开心')}`);
    await phone.waitForSelector('.card img');
    const layout = await phone.evaluate(() => ({
      columns: getComputedStyle(document.getElementById('grid')!).gridTemplateColumns.split(' ').length,
      overflow: document.documentElement.scrollWidth - window.innerWidth,
    }));
    assert.ok(layout.columns >= 2, `${layout.columns} columns`);
    assert.ok(layout.overflow <= 0, `${layout.overflow} px wider than the screen`);
    const file = path.join(shots, 'search-phone.png');
    await phone.screenshot({ path: file });
    t.diagnostic(`screenshot: ${file}`);
    await phone.close();
  });

  test('search by picture: a chosen, dropped or pasted copy finds its original first; text and filters combine; × goes back to words', async (t) => {
    const still = sampleEntries().slice(0, SAMPLES).find((e) => !e.is_animated && e.caption === '我太难了')!;
    const original = fs.readFileSync(path.join(sampleDir, 'images', still.filename));
    const md5 = createHash('md5').update(original).digest('hex');
    const jpeg = path.join(shots, `copy.jpg`);
    fs.writeFileSync(jpeg, (await makeVariant(original, 'jpeg40')).bytes);
    const page = await open();
    const firstLoaded = () =>
      page.waitForFunction(() => {
        const img = document.querySelector<HTMLImageElement>('.card img');
        return img !== null && img.complete && img.naturalWidth > 0 && /by picture/.test(document.getElementById('status')!.textContent ?? '');
      });
    const posted = () => page.waitForRequest((r) => r.url().endsWith('/api/recall') && r.method() === 'POST');
    /** Waits until the grid shows what the API answers to these fields and this picture, posted as the page posts them. */
    const showsAnswerTo = async (fields: Record<string, string>, picture: Buffer) => {
      const form = new FormData();
      for (const [k, v] of Object.entries({ top_k: '40', ...fields })) form.append(k, v);
      form.append('image', new Blob([new Uint8Array(picture)]), 'copy');
      const answer = (await (await fetch(`${server.url}/api/recall`, { method: 'POST', body: form })).json()) as { results: Array<{ md5: string }> };
      const want = answer.results.map((r) => r.md5).join();
      // Once the request is out the status says "Searching…" until the answer is shown.
      await page.waitForFunction(
        (want) =>
          /^by picture/.test(document.getElementById('status')!.textContent ?? '') &&
          Array.from(document.querySelectorAll<HTMLImageElement>('.card img'), (i) => i.src.match(/([0-9a-f]{32})\.\w+$/)![1]).join() === want,
        want,
      );
    };
    const multipart = async (request: Promise<import('playwright-core').Request>) => assert.match((await request).headers()['content-type'] ?? '', /^multipart\/form-data/);

    let request = posted();
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('#by-picture')]);
    await chooser.setFiles(jpeg);
    await multipart(request);
    await firstLoaded();
    assert.equal((await shown(page))[0], md5, 'a JPEG-40 copy finds its original first');
    assert.match(await page.textContent('#status') ?? '', /^by picture · \d+ results? · \d+ ms/);
    assert.ok(await page.isVisible('#query-picture img'), 'the picture searched by is shown');
    assert.match(await page.textContent('.card:first-child .score') ?? '', /^picture \d+% alike$/);
    const file = path.join(shots, 'search-picture.png');
    await page.screenshot({ path: file });
    t.diagnostic(`screenshot: ${file}`);

    // Words and filters go with the picture.
    request = posted();
    await page.click(`#suggested-chips .chip.category:has-text("${still.category}")`);
    await multipart(request);
    const copy = fs.readFileSync(jpeg);
    await showsAnswerTo({ category: still.category }, copy);
    request = posted();
    await page.fill('#q', '难');
    await multipart(request);
    await showsAnswerTo({ q: '难', category: still.category }, copy);
    assert.match(await page.textContent('#status') ?? '', /^by picture/);
    assert.equal((await shown(page))[0], md5);

    // × takes the picture off: the words search alone again, in the address as always.
    const words = page.waitForRequest((r) => r.url().includes('/api/recall?') && r.method() === 'GET');
    await page.click('#query-picture-clear');
    assert.match((await words).url(), /q=%E9%9A%BE/);
    assert.ok(await page.isHidden('#query-picture'));

    // Dropped on the page, or pasted: the same search.
    await page.fill('#q', '');
    await page.click('.chip.on.category'); // the category filter off
    for (const [how, kind] of [['drop', 'crop'], ['paste', 'half']] as const) {
      const { bytes, ext } = await makeVariant(original, kind);
      request = posted();
      await page.evaluate(
        ([how, base64, type]) => {
          const data = new DataTransfer();
          data.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], `copy.${type}`, { type: `image/${type}` }));
          if (how === 'paste') document.getElementById('q')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true }));
          else for (const name of ['dragover', 'drop']) document.body.dispatchEvent(new DragEvent(name, { dataTransfer: data, bubbles: true, cancelable: true }));
        },
        [how, bytes.toString('base64'), ext === 'jpg' ? 'jpeg' : ext] as const,
      );
      await multipart(request);
      await firstLoaded();
      assert.equal((await shown(page))[0], md5, `a ${kind} copy, ${how === 'drop' ? 'dropped' : 'pasted'}, finds its original first`);
      await page.click('#query-picture-clear');
    }
    await page.close();

    // A library whose embeddings all embed text: the API's reason, on the page.
    const textOnly = path.join(ws.dir, 'text-only.yaml');
    fs.writeFileSync(textOnly, fs.readFileSync(ws.config, 'utf8').replace(PICTURE_EMBEDDING, ''));
    const words2 = await startServer(textOnly);
    try {
      const plain = await browser.newPage();
      await plain.goto(`${words2.url}/`);
      await plain.setInputFiles('#picture-file', jpeg);
      await plain.waitForFunction(() => /input: image/.test(document.getElementById('status')!.textContent ?? ''));
      assert.match(await plain.textContent('#status') ?? '', /^searching by picture needs an embedding with input: image/);
      assert.equal(await plain.$$eval('.card', (cards) => cards.length), 0);
      await plain.close();
    } finally {
      await words2.close();
    }
  });

  test('a library behind a token: the page asks for it once, then searches and shows images', async () => {
    const guarded = await startServer(ws.config, { token: 'page-test-token-0123456789' });
    try {
      const page = await browser.newPage();
      await page.goto(`${guarded.url}/?q=${encodeURIComponent('我太难了')}`);
      await page.waitForSelector('#token-dialog[open]');
      await page.fill('#token', 'page-test-token-0123456789');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => {
        const img = document.querySelector<HTMLImageElement>('.card img');
        return img !== null && img.complete && img.naturalWidth > 0;
      });
      assert.equal(await page.$eval('.card img', (i) => (i as HTMLImageElement).alt), '我太难了');
      await page.close();
    } finally {
      await guarded.close();
    }
  });

  test('nothing was fetched from outside this machine, and the page raised no error', () => {
    assert.ok(requested.length > 10);
    const elsewhere = requested.filter((u) => !/^http:\/\/127\.0\.0\.1:\d+\//.test(u) && !/^(data|blob):/.test(u));
    assert.deepEqual(elsewhere, []);
    assert.deepEqual(pageErrors, []);
  });
});
