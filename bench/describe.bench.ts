/**
 * `npm run bench:describe`: what reading animated memes whole costs, and what
 * the OCR threads give back, on the embedded defaults.
 *   1. describe time per animated meme of ../shared/fixtures/real-memes, first
 *      frame only (one OCR thread, as before) against the chosen frames (the
 *      default threads), in-process, each in its own child for its peak RSS;
 *   2. the built CLI (`node dist/cli/index.js ingest`) on the sample set, the
 *      real memes and the real-world fixtures, in both settings: items/s and
 *      peak RSS of the whole process.
 * `-- --baseline <path/to/dist/cli/index.js>` adds the same CLI runs of
 * another build (e.g. the previous release) with its default config.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { probeImage } from '../src/images/probe.js';
import { prepareVlmFrames } from '../src/images/vlm-input.js';
import { LocalDescriber } from '../src/providers/vlm/local-describer.js';
import { copySample, makeWorkspace, projectRoot, realImagesDir, realMemesDir } from '../test/helpers/workspace.js';

const LIMITS = { maxPixels: 50_000_000 };
/** The two settings compared: the old behaviour, and the defaults. */
const SETTINGS = {
  'first frame, 1 thread': { maxFrames: 1, workers: 1, yaml: 'vlm:\n  animated_frames: first\n  ocr_threads: 1\n' },
  'chosen frames, default threads': { maxFrames: 4, workers: undefined, yaml: '' },
} as const;
type Setting = keyof typeof SETTINGS;

function* images(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* images(full);
    else if (!entry.name.endsWith('.md')) yield full;
  }
}

/** Part 1, in a child: every real meme described in one setting; per-kind time per meme. */
async function describePart(setting: Setting): Promise<Record<string, unknown>> {
  const { maxFrames, workers } = SETTINGS[setting];
  const describer = await LocalDescriber.create({ maxFrames, ...(workers ? { workers } : {}) });
  const kinds = { still: { memes: 0, frames: 0, ms: 0 }, animated: { memes: 0, frames: 0, ms: 0 } };
  try {
    for (const file of images(realMemesDir)) {
      const bytes = fs.readFileSync(file);
      const facts = await probeImage(bytes, LIMITS).catch(() => undefined);
      if (!facts) continue;
      const started = performance.now();
      // Frame choice and rendering count: they are part of reading an animated meme.
      const frames = await prepareVlmFrames(bytes, facts, LIMITS, { maxFrames });
      await describer.describe({ frames, category: '', tags: [] });
      const kind = kinds[facts.isAnimated ? 'animated' : 'still'];
      kind.memes++;
      kind.frames += frames.length;
      kind.ms += performance.now() - started;
    }
  } finally {
    await describer.close();
  }
  const per = (k: { memes: number; frames: number; ms: number }) => ({
    memes: k.memes,
    frames_per_meme: Number((k.frames / k.memes).toFixed(2)),
    ms_per_meme: Math.round(k.ms / k.memes),
  });
  return { part: 'describe', setting, still: per(kinds.still), animated: per(kinds.animated), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) };
}

/** Part 2: the built CLI ingesting `source` in a fresh workspace; wall time and peak RSS of the process. */
function cliRun(cli: string, label: string, yaml: string, source: string, setup: (ws: ReturnType<typeof makeWorkspace>) => void): Record<string, unknown> {
  const ws = makeWorkspace(yaml);
  try {
    setup(ws);
    const rssFile = path.join(ws.dir, 'rss');
    const started = performance.now();
    const run = spawnSync(
      process.execPath,
      ['--import', path.join(projectRoot, 'test', 'helpers', 'report-rss.mjs'), cli, 'ingest', `--source=${source}`, '--config', ws.config, '--json'],
      { encoding: 'utf8', env: { ...process.env, EMOMO_TEST_RSS_FILE: rssFile } },
    );
    const seconds = (performance.now() - started) / 1000;
    const summary = JSON.parse(run.stdout) as { added: number; failed: number };
    const items = summary.added + summary.failed;
    const name = source.startsWith('dir:') ? path.basename(source) : source;
    return { part: 'cli', build: label, source: name, items, seconds: Number(seconds.toFixed(2)), items_per_s: Number((items / seconds).toFixed(2)), peak_rss_mb: Math.round(Number(fs.readFileSync(rssFile, 'utf8')) / 1024) };
  } finally {
    ws.cleanup();
  }
}

const part = process.argv[2] as Setting | undefined;
if (part && part in SETTINGS) {
  process.stdout.write(JSON.stringify(await describePart(part)) + '\n');
} else {
  const { values } = parseArgs({ options: { baseline: { type: 'string' } } });
  const self = fileURLToPath(import.meta.url);
  const emit = (result: Record<string, unknown>) => {
    process.stderr.write(`${JSON.stringify(result)}\n`);
    process.stdout.write(JSON.stringify(result) + '\n');
  };
  for (const setting of Object.keys(SETTINGS)) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', self, setting], { encoding: 'utf8' });
    if (run.status !== 0) {
      process.stderr.write(run.stderr);
      process.exit(1);
    }
    emit(JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>);
  }
  spawnSync(process.execPath, [path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(projectRoot, 'tsconfig.build.json')], { stdio: 'inherit' });
  const builds: Array<[string, string, string]> = Object.entries(SETTINGS).map(([label, s]) => [path.join(projectRoot, 'dist', 'cli', 'index.js'), label, s.yaml]);
  if (values.baseline) builds.unshift([path.resolve(values.baseline), 'baseline', '']);
  for (const [cli, label, yaml] of builds) {
    emit(cliRun(cli, label, yaml, 'staging:sample', (ws) => copySample(ws)));
    emit(cliRun(cli, label, yaml, `dir:${realMemesDir}`, () => undefined));
    emit(cliRun(cli, label, yaml, `dir:${realImagesDir}`, () => undefined));
  }
}
