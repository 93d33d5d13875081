/**
 * `npm run bench:describe`: what reading animated memes whole costs, and what
 * the OCR threads give back, on the embedded defaults.
 *   1. describe time per meme of ../shared/fixtures/real-memes, stills and
 *      animated memes apart: the first frame only on one OCR thread (as
 *      before), then the chosen frames on one and on two OCR threads;
 *      in-process, each setting in its own child for its peak RSS, with the
 *      CPU time per meme (all threads), which the load of other processes
 *      moves far less than wall time;
 *   2. the built CLI (`node dist/cli/index.js ingest`) on the sample set, the
 *      real memes and the real-world fixtures, in the same settings (and two
 *      threads with MALLOC_ARENA_MAX=2): items/s, CPU seconds and peak RSS of
 *      the whole process (`/usr/bin/time -v` where it exists), median of
 *      `--runs` runs.
 * `-- --baseline <path/to/dist/cli/index.js>` adds the same CLI runs of
 * another build (e.g. the previous release) with its default config;
 * `-- --part cli` skips part 1, `-- --part describe` part 2.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { probeImage } from '../src/images/probe.js';
import { prepareVlmFrames } from '../src/images/vlm-input.js';
import { LocalDescriber, defaultOcrThreads } from '../src/providers/vlm/local-describer.js';
import { copySample, makeWorkspace, projectRoot, realImagesDir, realMemesDir } from '../test/helpers/workspace.js';

const LIMITS = { maxPixels: 50_000_000 };
/** The settings compared: the old behaviour first. */
const SETTINGS = {
  'first frame, 1 thread': { maxFrames: 1, workers: 1, yaml: 'vlm:\n  animated_frames: first\n  ocr_threads: 1\n', env: {} },
  'chosen frames, 1 thread': { maxFrames: 4, workers: 1, yaml: 'vlm:\n  ocr_threads: 1\n', env: {} },
  'chosen frames, 2 threads': { maxFrames: 4, workers: 2, yaml: 'vlm:\n  ocr_threads: 2\n', env: {} },
  'chosen frames, 2 threads, MALLOC_ARENA_MAX=2': { maxFrames: 4, workers: 2, yaml: 'vlm:\n  ocr_threads: 2\n', env: { MALLOC_ARENA_MAX: '2' } },
} as const;
type Setting = keyof typeof SETTINGS;
/** Part 1 leaves out the allocator variant: it changes memory, not time. */
const DESCRIBE_SETTINGS: Setting[] = ['first frame, 1 thread', 'chosen frames, 1 thread', 'chosen frames, 2 threads'];

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
  const describer = await LocalDescriber.create({ maxFrames, workers });
  const kinds = { still: { memes: 0, frames: 0, ms: 0, cpuMs: 0 }, animated: { memes: 0, frames: 0, ms: 0, cpuMs: 0 } };
  const started = performance.now();
  try {
    for (const file of images(realMemesDir)) {
      const bytes = fs.readFileSync(file);
      const facts = await probeImage(bytes, LIMITS).catch(() => undefined);
      if (!facts) continue;
      const begun = performance.now();
      const cpu = process.cpuUsage();
      // Frame choice and rendering count: they are part of reading an animated meme.
      const frames = await prepareVlmFrames(bytes, facts, LIMITS, { maxFrames });
      await describer.describe({ frames, category: '', tags: [] });
      const kind = kinds[facts.isAnimated ? 'animated' : 'still'];
      kind.memes++;
      kind.frames += frames.length;
      kind.ms += performance.now() - begun;
      const used = process.cpuUsage(cpu);
      kind.cpuMs += (used.user + used.system) / 1000;
    }
  } finally {
    await describer.close();
  }
  // CPU time (every thread of the process) says what a meme costs whatever else the machine runs.
  const per = (k: { memes: number; frames: number; ms: number; cpuMs: number }) => ({
    memes: k.memes,
    frames_per_meme: Number((k.frames / k.memes).toFixed(2)),
    ms_per_meme: Math.round(k.ms / k.memes),
    cpu_ms_per_meme: Math.round(k.cpuMs / k.memes),
  });
  return {
    part: 'describe',
    setting,
    still: per(kinds.still),
    animated: per(kinds.animated),
    seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

const TIME = '/usr/bin/time';

/** One CLI ingest of `source` in a fresh workspace: wall seconds, items, peak RSS (MB) and CPU seconds (where GNU time runs it) of the process. */
function cliRun(cli: string, yaml: string, env: Record<string, string>, source: string, setup: (ws: ReturnType<typeof makeWorkspace>) => void) {
  const ws = makeWorkspace(yaml);
  try {
    setup(ws);
    const rssFile = path.join(ws.dir, 'rss');
    const args = [cli, 'ingest', `--source=${source}`, '--config', ws.config, '--json'];
    // GNU time reports the peak RSS of the whole process; without it, the process reports its own at exit.
    const viaTime = fs.existsSync(TIME);
    const started = performance.now();
    const run = viaTime
      ? spawnSync(TIME, ['-v', process.execPath, ...args], { encoding: 'utf8', env: { ...process.env, ...env } })
      : spawnSync(process.execPath, ['--import', path.join(projectRoot, 'test', 'helpers', 'report-rss.mjs'), ...args], {
          encoding: 'utf8',
          env: { ...process.env, ...env, EMOMO_TEST_RSS_FILE: rssFile },
        });
    const seconds = (performance.now() - started) / 1000;
    const summary = JSON.parse(run.stdout) as { added: number; failed: number };
    const kb = viaTime ? Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(run.stderr)?.[1]) : Number(fs.readFileSync(rssFile, 'utf8'));
    const cpu = (what: string) => Number(new RegExp(`${what} time \\(seconds\\): ([\\d.]+)`).exec(run.stderr)?.[1]);
    return { items: summary.added + summary.failed, seconds, rssMb: kb / 1024, cpuSeconds: viaTime ? cpu('User') + cpu('System') : undefined };
  } finally {
    ws.cleanup();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/** Part 2: the CLI ingests of one source in one setting, summarised. */
function summary(label: string, source: string, results: ReturnType<typeof cliRun>[]): Record<string, unknown> {
  const seconds = median(results.map((r) => r.seconds));
  const rss = results.map((r) => r.rssMb);
  return {
    part: 'cli',
    build: label,
    source: source.startsWith('dir:') ? path.basename(source) : source,
    items: results[0]!.items,
    runs: results.length,
    seconds: Number(seconds.toFixed(2)),
    items_per_s: Number((results[0]!.items / seconds).toFixed(2)),
    cpu_s: results[0]!.cpuSeconds === undefined ? null : Number(median(results.map((r) => r.cpuSeconds!)).toFixed(2)),
    peak_rss_mb: Math.round(median(rss)),
    peak_rss_mb_range: [Math.round(Math.min(...rss)), Math.round(Math.max(...rss))],
  };
}

const part = process.argv[2] as Setting | undefined;
if (part && part in SETTINGS) {
  process.stdout.write(JSON.stringify(await describePart(part)) + '\n');
} else {
  const { values } = parseArgs({ options: { baseline: { type: 'string' }, runs: { type: 'string', default: '3' }, part: { type: 'string' } } });
  const runs = Math.max(1, Number(values.runs) || 1);
  const self = fileURLToPath(import.meta.url);
  const emit = (result: Record<string, unknown>) => {
    process.stderr.write(`${JSON.stringify(result)}\n`);
    process.stdout.write(JSON.stringify(result) + '\n');
  };
  emit({ default_ocr_threads: defaultOcrThreads() });
  if (values.part !== 'cli') {
    for (const setting of DESCRIBE_SETTINGS) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', self, setting], { encoding: 'utf8' });
      if (run.status !== 0) {
        process.stderr.write(run.stderr);
        process.exit(1);
      }
      emit(JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>);
    }
  }
  if (values.part !== 'describe') {
    spawnSync(process.execPath, [path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(projectRoot, 'tsconfig.build.json')], { stdio: 'inherit' });
    const cli = path.join(projectRoot, 'dist', 'cli', 'index.js');
    const builds: Array<[string, string, string, Record<string, string>]> = Object.entries(SETTINGS).map(([label, s]) => [cli, label, s.yaml, s.env]);
    if (values.baseline) builds.unshift([path.resolve(values.baseline), 'baseline', '', {}]);
    for (const source of ['staging:sample', `dir:${realMemesDir}`, `dir:${realImagesDir}`]) {
      const setup = source === 'staging:sample' ? (ws: ReturnType<typeof makeWorkspace>) => void copySample(ws) : () => undefined;
      // Settings take turns, run after run, so a change in the machine's load falls on all of them.
      const results = builds.map(() => [] as ReturnType<typeof cliRun>[]);
      for (let r = 0; r < runs; r++) builds.forEach(([build, , yaml, env], i) => results[i]!.push(cliRun(build, yaml, env, source, setup)));
      builds.forEach(([, label], i) => emit(summary(label, source, results[i]!)));
    }
  }
}
