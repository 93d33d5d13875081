/**
 * `npm run bench:ingest`: ingest throughput and peak memory.
 *   1. the committed sample set on the embedded defaults (OCR describer + lexical embedder);
 *   2. the pipeline alone: 1,000 generated images with an instant describer and embedder;
 *   3. peak RSS of the built CLI (`node dist/cli/index.js`, as `npx emomo` runs it) on the
 *      real-world fixtures, 280-megapixel bomb included, and on the sample set.
 * Each part runs in its own child process so peak RSS is its own.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Describer, Embedder } from '../src/ports.js';
import { runIngest } from '../test/helpers/run-ingest.js';
import { copySample, makeWorkspace, projectRoot, realImagesDir } from '../test/helpers/workspace.js';

const part = process.argv[2];

class InstantDescriber implements Describer {
  readonly model = 'instant';
  readonly promptVersion = 'bench';
  async describe() {
    return { ocrText: '基准', description: '基准测试表情包', emotions: [] };
  }
}

class InstantEmbedder implements Embedder {
  readonly model = 'instant';
  constructor(readonly dimensions: number) {}
  async embed(texts: string[]) {
    return texts.map((_, i) => {
      const v = new Float32Array(this.dimensions);
      v[i % this.dimensions] = 1;
      return v;
    });
  }
}

async function generateImages(dir: string, n: number): Promise<void> {
  fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const filename = `g${i}.png`;
    const png = await sharp({
      create: { width: 64 + (i % 64), height: 64, channels: 3, background: { r: i % 256, g: (i >> 8) % 256, b: 99 } },
    })
      .png()
      .toBuffer();
    fs.writeFileSync(path.join(dir, 'images', filename), png);
    lines.push(JSON.stringify({ id: `g${i}`, filename, category: '基准', tags: ['bench'] }));
  }
  fs.writeFileSync(path.join(dir, 'manifest.jsonl'), lines.join('\n') + '\n');
}

async function runPart(which: string): Promise<Record<string, unknown>> {
  const ws = makeWorkspace();
  try {
    let n: number;
    let overrides = {};
    if (which === 'sample') {
      n = copySample(ws);
    } else {
      n = 1000;
      await generateImages(path.join(ws.staging, 'sample'), n);
      overrides = { describer: new InstantDescriber(), embedder: (e: { dimensions: number }) => new InstantEmbedder(e.dimensions) };
    }
    const started = performance.now();
    const { summary } = await runIngest(ws, { source: 'staging:sample' }, overrides);
    const seconds = (performance.now() - started) / 1000;
    if (summary.added !== n) throw new Error(`expected ${n} added, got ${JSON.stringify(summary)}`);
    return {
      part: which,
      items: n,
      seconds: Number(seconds.toFixed(2)),
      items_per_s: Number((n / seconds).toFixed(1)),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    ws.cleanup();
  }
}

/** Peak RSS of the built CLI ingesting `source` into a fresh workspace. */
function cliPeak(source: string, setup: (ws: ReturnType<typeof makeWorkspace>) => void): Record<string, unknown> {
  const ws = makeWorkspace();
  try {
    setup(ws);
    const rssFile = path.join(ws.dir, 'rss');
    const started = performance.now();
    const run = spawnSync(
      process.execPath,
      ['--import', path.join(projectRoot, 'test', 'helpers', 'report-rss.mjs'), path.join(projectRoot, 'dist', 'cli', 'index.js'), 'ingest', `--source=${source}`, '--config', ws.config, '--json'],
      { encoding: 'utf8', env: { ...process.env, EMOMO_TEST_RSS_FILE: rssFile } },
    );
    const summary = JSON.parse(run.stdout) as { added: number; failed: number };
    return {
      part: `cli ${source.startsWith('dir:') ? 'real-images' : source}`,
      items: summary.added + summary.failed,
      seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
      peak_rss_mb: Math.round(Number(fs.readFileSync(rssFile, 'utf8')) / 1024),
    };
  } finally {
    ws.cleanup();
  }
}

if (part) {
  process.stdout.write(JSON.stringify(await runPart(part)) + '\n');
} else {
  const self = fileURLToPath(import.meta.url);
  spawnSync(process.execPath, [path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(projectRoot, 'tsconfig.build.json')], { stdio: 'inherit' });
  for (const result of [cliPeak(`dir:${realImagesDir}`, () => undefined), cliPeak('staging:sample', (ws) => copySample(ws))]) {
    process.stderr.write(`built CLI, ${result.part}: ${result.items} items in ${result.seconds} s, peak RSS ${result.peak_rss_mb} MB\n`);
    process.stdout.write(JSON.stringify(result) + '\n');
  }
  for (const which of ['sample', 'pipeline']) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', self, which], { encoding: 'utf8' });
    if (run.status !== 0) {
      process.stderr.write(run.stderr);
      process.exit(1);
    }
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    const label = which === 'sample' ? 'sample set, embedded defaults (OCR + lexical)' : 'pipeline alone, instant providers';
    process.stderr.write(`${label}: ${result.items} items in ${result.seconds} s = ${result.items_per_s} items/s, peak RSS ${result.peak_rss_mb} MB\n`);
    process.stdout.write(JSON.stringify(result) + '\n');
  }
}
