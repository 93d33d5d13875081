/**
 * `npm run bench:startup -- [--runs 20] [--root DIR]`
 *
 * Start-up to result of whole CLI processes, as a shell runs them: the built
 * launcher (`bin/emomo`, `dist/`) for `--version`, `--help`, `stats` and a
 * keyword and a hybrid recall on the sample library (ingested once into a
 * scratch folder first). Each command runs `--runs` times after one warm-up;
 * reports min / p50 / p95 wall time, and `node -e 0` as the floor no CLI can
 * go under on this machine. `--root` measures another checkout (e.g. main)
 * with the same scratch library. The last line is one JSON object.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../test/helpers/workspace.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, root: { type: 'string' } } });
const runs = Number(values.runs);
const root = path.resolve(values.root ?? projectRoot);
const launcher = path.join(root, 'bin', 'emomo');

execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-startup-'));
fs.cpSync(path.join(projectRoot, 'staging', 'sample'), path.join(scratch, 'staging', 'sample'), { recursive: true });
execFileSync(launcher, ['ingest', '--source=staging:sample', '--quiet'], { cwd: scratch, stdio: 'inherit' });

const cases: Array<[string, string[]]> = [
  ['node -e 0 (floor)', [process.execPath, '-e', '0']],
  ['emomo --version', [launcher, '--version']],
  ['emomo --help', [launcher, '--help']],
  ['emomo stats', [launcher, 'stats']],
  ['emomo recall 我太难了 --mode keyword', [launcher, 'recall', '我太难了', '--mode', 'keyword']],
  ['emomo recall 我太难了 (hybrid)', [launcher, 'recall', '我太难了']],
];

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const results: Record<string, { min: number; p50: number; p95: number }> = {};
try {
  for (const [name, [command, ...args]] of cases) {
    const times: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const start = process.hrtime.bigint();
      const run = spawnSync(command!, args, { cwd: scratch, stdio: ['ignore', 'ignore', 'pipe'] });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (run.status !== 0) throw new Error(`${name} exited ${run.status}: ${run.stderr}`);
      if (i > 0) times.push(ms); // the first run warms the file cache
    }
    times.sort((a, b) => a - b);
    results[name] = { min: Math.round(times[0]!), p50: Math.round(quantile(times, 0.5)), p95: Math.round(quantile(times, 0.95)) };
    console.log(`${name.padEnd(38)} min ${String(results[name].min).padStart(5)} ms  p50 ${String(results[name].p50).padStart(5)} ms  p95 ${String(results[name].p95).padStart(5)} ms`);
  }
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
console.log(JSON.stringify({ bench: 'startup', root, runs, load: os.loadavg()[0]!.toFixed(2), ms: results }));
