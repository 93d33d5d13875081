/**
 * What a new user meets running ingest as they would (a spawned CLI with the
 * offline defaults): --limit from cron, folders of memes given by relative
 * path, progress with and without a terminal, Ctrl+C twice, flag bounds.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startFakeOpenAI } from '../helpers/fake-openai-server.js';
import { keyEnv, makeRemoteWorkspace } from '../helpers/remote-workspace.js';
import { copySample, makeWorkspace, projectRoot, sampleDir, type Workspace } from '../helpers/workspace.js';

const json = (stdout: string) => JSON.parse(stdout) as Record<string, number>;

describe('first hour running ingest', () => {
  let ws: Workspace;

  before(() => {
    ws = makeWorkspace();
    copySample(ws, 'sample', 4);
    // A folder of memes sorted into sub-folders, as people keep them.
    fs.mkdirSync(path.join(ws.dir, 'few', '猫猫'), { recursive: true });
    for (const name of ['s006.png', 's007.webp']) fs.copyFileSync(path.join(sampleDir, 'images', name), path.join(ws.dir, 'few', '猫猫', name));
  });
  after(() => ws?.cleanup());

  test('2 and 6: --limit counts new work, so the next cron run moves on; no TTY logs progress lines', async () => {
    const env = { EMOMO_PROGRESS_INTERVAL: '1ms' };
    const first = await runCli(['--config', ws.config, '--json', 'ingest', '--source', 'staging:sample', '--limit', '2'], { env });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(json(first.stdout).added, 2);
    assert.match(first.stderr, /msg="ingest progress" done=1 .*counts="added 1"/);
    const second = await runCli(['--config', ws.config, '--json', 'ingest', '--source', 'staging:sample', '--limit', '2']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(json(second.stdout).added, 2, 'the two already ingested are skipped and do not count');
  });

  test('8 and 15: dir: by relative path is recorded by absolute path; purge and filters accept the same spelling; sub-folders are categories', async () => {
    const ingest = await runCli(['--config', ws.config, '--json', 'ingest', '--source', 'dir:./few'], { cwd: ws.dir });
    assert.equal(ingest.code, 0, ingest.stderr);
    assert.equal(Number(json(ingest.stdout).added) + Number(json(ingest.stdout).reused), 2);
    const purge = await runCli(['--config', ws.config, '--json', 'purge', '--source', 'dir:few'], { cwd: ws.dir });
    assert.equal(purge.code, 0, purge.stderr);
    assert.equal(json(purge.stdout).source, `dir:${path.join(ws.dir, 'few')}`);
    assert.equal(json(purge.stdout).source_links, 2, 'without --yes: a dry run that finds the source');
    const recall = await runCli(['--config', ws.config, '--json', 'recall', '猫猫', '--category', '猫猫', '--source', 'dir:../few'], {
      cwd: path.join(ws.dir, 'staging'),
    });
    assert.equal(recall.code, 0, recall.stderr);
    assert.equal((JSON.parse(recall.stdout) as { results: unknown[] }).results.length, 2);
  });

  test('14: flag bounds, dir: naming a file, help defaults written one way', async () => {
    const workers = await runCli(['--config', ws.config, 'ingest', '--source', 'staging:sample', '--workers', '1000']);
    assert.equal(workers.code, 2);
    assert.match(workers.stderr, /1 to 256/);
    const file = await runCli(['--config', ws.config, 'ingest', '--source', `dir:${path.join(ws.dir, 'few', '猫猫', 's006.png')}`]);
    assert.equal(file.code, 2);
    assert.match(file.stderr, /is a file; dir: takes the folder/);
    const help = (await runCli(['recall', '--help'])).stdout + (await runCli(['crawl', '--help'])).stdout;
    assert.doesNotMatch(help, /default: \[\]|\(default \d/);
  });

  test('16: more --workers than vlm.concurrency is said at start-up', async () => {
    const fake = await startFakeOpenAI();
    const remote = makeRemoteWorkspace(fake, { vlmConcurrency: 8 });
    try {
      copySample(remote, 'sample', 2);
      const run = await runCli(['--config', remote.config, 'ingest', '--source', 'staging:sample', '--workers', '32', '--dry-run', '--embedding', 'remote'], {
        env: keyEnv('sk-e2e'),
      });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /32 workers, but at most 8 describe calls run at once \(vlm\.concurrency/);
    } finally {
      remote.cleanup();
      await fake.close();
    }
  });

  test('12: the linked command prints no npm warning, and the GPU-binary download of onnxruntime-node is skipped', async () => {
    // `emomo` (npm link) and ./bin/emomo never go through npm, so the .npmrc line that keeps
    // onnxruntime-node from downloading GPU binaries costs them no warning (npx does print one).
    const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(path.join(projectRoot, 'bin', 'emomo'), ['--version'], { cwd: os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (out += d));
      child.on('close', (code) => resolve({ code, out }));
    });
    assert.equal(run.code, 0, run.out);
    assert.doesNotMatch(run.out, /npm warn/);
    assert.match(fs.readFileSync(path.join(projectRoot, '.npmrc'), 'utf8'), /^onnxruntime-node-install=skip$/m);
    const manifest = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { allowScripts: Record<string, boolean> };
    assert.equal(manifest.allowScripts['onnxruntime-node'], false);
    const gpu = path.join(projectRoot, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so');
    assert.ok(!fs.existsSync(gpu), 'npm ci never ran the download');
  });

  test('4 and 6: on a terminal a folder shows a counter, and a second Ctrl+C leaves the cursor and line wrap on', async () => {
    const folder = path.join(ws.dir, 'many');
    fs.mkdirSync(folder);
    for (const name of fs.readdirSync(path.join(sampleDir, 'images')).slice(0, 12)) {
      fs.copyFileSync(path.join(sampleDir, 'images', name), path.join(folder, name));
    }
    // `script` gives the CLI a pseudo-terminal; ^C typed into it is SIGINT, as at a keyboard.
    const cli = [process.execPath, '--import', import.meta.resolve('tsx'), path.join(projectRoot, 'src', 'cli', 'index.ts')];
    // `exec`: whatever shell `script` starts is replaced by the CLI, so ^C reaches the CLI alone (a shell that
    // stayed between them would die of the first ^C and report 130).
    const command = `exec ${[...cli, '--config', ws.config, 'ingest', '--source', `dir:${folder}`, '--workers', '1'].map((a) => `'${a}'`).join(' ')}`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let screen = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      const first = !screen.includes('done |') && `${screen}${d}`.includes('done |');
      const again = !screen.includes('again to force') && `${screen}${d}`.includes('again to force');
      screen += d;
      if (first || again) child.stdin.write('\x03');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 3, screen);
    assert.match(screen, /ingest \d+ done \| [\d.]+\/s/, 'a counter, not a bar whose total grows with it');
    // The second ^C may land after the run has already stopped: either way the terminal ends restored.
    const marker = screen.includes('SIGINT again') ? 'SIGINT again' : 'stopped early';
    const tail = screen.slice(screen.lastIndexOf(marker));
    assert.ok(tail.length > 1, screen);
    assert.ok(tail.includes('\x1b[?25h') && tail.includes('\x1b[?7h'), JSON.stringify(tail));
  });
});
