/**
 * `emomo crawl` as cron runs it: a separate process, a fake site on
 * 127.0.0.1, real signals (SIGKILL and SIGTERM mid-download), and the
 * one-line `crawl && ingest` with the offline providers.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli, startCli, waitFor } from '../helpers/cli.js';
import { FakeSite, fixtureImages, serve } from '../helpers/fake-site.js';
import { makeWorkspace, projectRoot, type Workspace } from '../helpers/workspace.js';

const cli = `"${process.execPath}" --import tsx "${path.join(projectRoot, 'src', 'cli', 'index.ts')}"`;

function crawlArgs(ws: Workspace, site: FakeSite, extra: string[] = []): string[] {
  return ['--config', ws.config, 'crawl', '--source', 'fabiaoqing', '--base-url', site.url, '--rate', '50', ...extra];
}

const dir = (ws: Workspace) => path.join(ws.staging, 'fabiaoqing');
const temps = (ws: Workspace) => fs.readdirSync(path.join(dir(ws), 'images')).filter((n) => n.startsWith('.tmp-'));

/** Parses every manifest line (throws on a torn one) and checks each has its image. */
function checkManifest(ws: Workspace): string[] {
  const lines = fs.readFileSync(path.join(dir(ws), 'manifest.jsonl'), 'utf8');
  assert.ok(lines === '' || lines.endsWith('\n'), 'manifest ends with a whole line');
  const records = lines.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; filename: string });
  for (const r of records) assert.ok(fs.existsSync(path.join(dir(ws), 'images', r.filename)), `${r.filename} exists`);
  const ids = records.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length, 'no duplicate ids');
  return ids;
}

test('emomo crawl … && emomo ingest --source=staging:fabiaoqing works as one line', async () => {
  const img = await fixtureImages();
  const site = await new FakeSite({
    routes: { '/img/a.jpg': serve(img.jpg, 'image/jpeg'), '/img/b.png': serve(img.png, 'image/png'), '/img/d.gif': serve(img.gif, 'image/gif') },
    pages: [[{ url: '/img/a.jpg', alt: '熊猫头 我太难了' }, { url: '/img/b.png' }, { url: '/img/d.gif' }, { url: '/img/missing.jpg' }]],
  }).start();
  const ws = makeWorkspace();
  try {
    const line = `${cli} ${crawlArgs(ws, site).join(' ')} && ${cli} --config ${ws.config} --json ingest --source=staging:fabiaoqing`;
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('sh', ['-c', line], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d));
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /saved 3 .* skipped 1/);
    const summary = JSON.parse(result.stdout) as { added: number; failed: number };
    assert.equal(summary.added, 3);
    assert.equal(summary.failed, 0);

    // staging stats / clean from the same CLI: clean without --yes deletes nothing
    const stats = await runCli(['--config', ws.config, '--json', 'staging', 'stats', '--source', 'fabiaoqing']);
    assert.equal(stats.code, 0, stats.stderr);
    const s = (JSON.parse(stats.stdout) as { sources: { items: number; formats: Record<string, number> }[] }).sources[0]!;
    assert.equal(s.items, 3);
    assert.deepEqual(s.formats, { jpg: 1, png: 1, gif: 1 });
    const dry = await runCli(['--config', ws.config, 'staging', 'clean', '--source', 'fabiaoqing']);
    assert.equal(dry.code, 0);
    assert.match(dry.stderr, /would delete 5 file\(s\)/);
    assert.equal(checkManifest(ws).length, 3, 'still there');
  } finally {
    await site.close();
    ws.cleanup();
  }
});

/** A site whose third image stalls after its first kilobyte until `release` is set. */
async function stallingSite(): Promise<{ site: FakeSite; release: () => void }> {
  const img = await fixtureImages();
  let released = false;
  const site = await new FakeSite({
    routes: {
      '/img/a.jpg': serve(img.jpg, 'image/jpeg'),
      '/img/b.png': serve(img.png, 'image/png'),
      '/img/big.gif': (_req, res) => {
        if (released) return serve(img.gif, 'image/gif')(_req, res, site);
        res.writeHead(200, { 'content-type': 'image/gif', 'content-length': img.gif.length });
        res.write(img.gif.subarray(0, 1024)); // …and nothing more
      },
      '/img/c.webp': serve(img.webp, 'image/webp'),
    },
    pages: [[{ url: '/img/a.jpg' }, { url: '/img/b.png' }, { url: '/img/big.gif' }], [{ url: '/img/c.webp' }]],
  }).start();
  return { site, release: () => (released = true) };
}

test('SIGKILL mid-download, then a re-run: no partial image stays, the manifest parses, no duplicate ids', async () => {
  const { site, release } = await stallingSite();
  const ws = makeWorkspace();
  try {
    const run = startCli(crawlArgs(ws, site, ['--threads', '1']));
    // The stalled download: the two images before it are staged, its temp file exists.
    const manifest = path.join(dir(ws), 'manifest.jsonl');
    const staged = () => (fs.existsSync(manifest) ? fs.readFileSync(manifest, 'utf8').split('\n').filter(Boolean).length : 0);
    await waitFor(() => staged() === 2 && fs.existsSync(path.join(dir(ws), 'images')) && temps(ws).length > 0, 30_000, 'the stalled download');
    run.child.kill('SIGKILL');
    const killed = await run.done;
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(temps(ws).length, 1, 'the kill left an unfinished download behind');
    assert.deepEqual(checkManifest(ws).length, 2);

    release();
    const again = await runCli([...crawlArgs(ws, site), '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /removed 1 unfinished download/);
    const summary = JSON.parse(again.stdout) as { saved: number; known: number; repaired: { removed_temp_files: number } };
    assert.equal(summary.saved, 2); // big.gif and c.webp
    assert.equal(summary.known, 2);
    assert.equal(summary.repaired.removed_temp_files, 1);
    assert.deepEqual(temps(ws), []);
    assert.equal(checkManifest(ws).length, 4);
    assert.equal(fs.existsSync(path.join(dir(ws), '.crawl.lock')), false);
  } finally {
    await site.close();
    ws.cleanup();
  }
});

test('SIGTERM mid-download: the download under way finishes, nothing new starts, exit 3, cursor kept', async () => {
  const img = await fixtureImages();
  const site = await new FakeSite({
    routes: {
      // about 1 s to deliver, in 8 pieces
      '/img/drip.gif': (_req, res) => {
        res.writeHead(200, { 'content-type': 'image/gif', 'content-length': img.gif.length });
        const step = Math.ceil(img.gif.length / 8);
        let at = 0;
        const tick = () => {
          if (res.destroyed) return;
          res.write(img.gif.subarray(at, at + step));
          at += step;
          if (at >= img.gif.length) res.end();
          else setTimeout(tick, 130);
        };
        tick();
      },
      '/img/later.png': serve(img.png, 'image/png'),
    },
    pages: [[{ url: '/img/drip.gif' }, { url: '/img/later.png' }], [{ url: '/img/later.png' }]],
  }).start();
  const ws = makeWorkspace();
  try {
    const run = startCli([...crawlArgs(ws, site, ['--threads', '1', '--rate', '2']), '--json']);
    await waitFor(() => fs.existsSync(path.join(dir(ws), 'images')) && temps(ws).length > 0, 30_000, 'a download in progress');
    run.child.kill('SIGTERM');
    const result = await run.done;
    assert.equal(result.code, 3, result.stderr);
    const summary = JSON.parse(result.stdout) as { saved: number; ended: string; next_cursor: number };
    assert.equal(summary.ended, 'aborted');
    assert.equal(summary.saved, 1, 'the in-flight download was finished and recorded');
    assert.equal(summary.next_cursor, 1, 'page 1 is not finished: the next run starts there');
    assert.equal(site.count('/img/later.png'), 0, 'nothing new was started after the signal');
    assert.equal(checkManifest(ws).length, 1);
    assert.deepEqual(temps(ws), []);
  } finally {
    await site.close();
    ws.cleanup();
  }
});
