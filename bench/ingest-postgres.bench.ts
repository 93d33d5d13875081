/**
 * `npm run bench:ingest:postgres -- [--items 480] [--vlm-ms 2000] [--workers 8] [--runs 1,2,3] [--lease 60s] [--s3]`
 *
 * Ingest throughput of several machines on one PostgreSQL library: for each
 * run, N `emomo ingest` processes (the built CLI, `node dist/cli/index.js`,
 * as on N machines) start together on one staging source of generated
 * images, against a fresh database on EMOMO_TEST_PG_URL and the fake
 * OpenAI-compatible provider answering each describe call in `--vlm-ms`.
 * Objects go to one local folder all processes share (`--s3` puts them in an
 * s3rver bucket instead; s3rver answers one request at a time, so at 3
 * processes it measures itself more than emomo). Reported: the run's time, from the first process starting its
 * ingest to the last one finishing (each process's own start is its exit
 * time minus the ingest time in its summary: start-up of the program, which
 * on one shared machine overlaps unevenly, is left out), items/s, the
 * speed-up over one process, and describe calls per image (1 = nothing
 * described twice). Without EMOMO_TEST_PG_URL it says so and exits 0.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { RunSummary } from '../src/pipeline/outcome.js';
import { chatCallsPerImage, startFakeOpenAI } from '../test/helpers/fake-openai-server.js';
import { writeGeneratedStaging } from '../test/helpers/generated-images.js';
import { createTestDatabase, pgLibraryCounts, usePostgres } from '../test/helpers/postgres.js';
import { keyEnv, makeRemoteWorkspace } from '../test/helpers/remote-workspace.js';
import { startS3Server, useS3Storage } from '../test/helpers/s3-server.js';
import { projectRoot } from '../test/helpers/workspace.js';
import { round } from './vector-data.js';

const { values } = parseArgs({
  options: {
    // A multiple of 8, 16 and 24 lanes: every run ends on a full round of describe calls.
    items: { type: 'string', default: '480' },
    'vlm-ms': { type: 'string', default: '2000' },
    workers: { type: 'string', default: '8' },
    runs: { type: 'string', default: '1,2,3' },
    lease: { type: 'string', default: '60s' },
    s3: { type: 'boolean', default: false },
  },
});
const items = Number(values.items);
const workers = Number(values.workers);

if (!process.env.EMOMO_TEST_PG_URL) {
  process.stderr.write('ingest-postgres: skipped, EMOMO_TEST_PG_URL is not set (see docs/postgres.md)\n');
  process.exit(0);
}

/** Runs the built CLI; resolves with its summary and the moment it exited. */
function runBuilt(args: string[], env: NodeJS.ProcessEnv): Promise<{ summary: RunSummary; exitedAt: number }> {
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'cli', 'index.js'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      const exitedAt = performance.now();
      if (code !== 0) reject(new Error(`ingest exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ summary: JSON.parse(stdout) as RunSummary, exitedAt });
    }),
  );
}

process.stderr.write('building dist/ …\n');
const build = spawnSync(process.execPath, [path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(projectRoot, 'tsconfig.build.json')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(1);

const fake = await startFakeOpenAI({ latencyMs: { chat: Number(values['vlm-ms']) } });
const rows: Array<Record<string, string | number>> = [];
let single = 0;
try {
  for (const processes of values.runs.split(',').map(Number)) {
    const db = await createTestDatabase();
    const s3 = values.s3 ? await startS3Server() : undefined;
    const ws = makeRemoteWorkspace(fake, { provider: 'openai', model: 'text-embedding-3-small', dims: 64, workers });
    try {
      if (s3) useS3Storage(ws, s3);
      usePostgres(ws, db.url, { lease: values.lease });
      await writeGeneratedStaging(ws.staging, 'bench', items);
      const before = fake.requests.length;
      const args = ['--config', ws.config, '--json', 'ingest', '--source', 'staging:bench', '--no-lock'];
      const started = performance.now();
      const runs = await Promise.all(Array.from({ length: processes }, () => runBuilt(args, { ...keyEnv('sk-bench'), ...s3?.env })));
      const wall = (performance.now() - started) / 1000;
      const summaries = runs.map((r) => r.summary);
      const firstStart = Math.min(...runs.map((r) => r.exitedAt - r.summary.duration_ms));
      const seconds = (Math.max(...runs.map((r) => r.exitedAt)) - firstStart) / 1000;
      const calls = [...chatCallsPerImage({ requests: fake.requests.slice(before) }).values()];
      const counts = await pgLibraryCounts(db.url, ['memes', 'vec'], 'remote');
      const rate = items / seconds;
      if (processes === 1) single = rate;
      rows.push({
        processes,
        items,
        run_s: round(seconds, 1),
        wall_s: round(wall, 1),
        items_per_s: round(rate),
        speedup: single ? round(rate / single) : '-',
        added_per_process: summaries.map((s) => s.added).join(' / '),
        describe_calls_per_image: round(calls.reduce((a, b) => a + b, 0) / calls.length, 3),
        memes: counts.memes,
        vectors: counts.vec,
      });
      process.stderr.write(`${processes} process(es): ${round(seconds, 1)} s\n`);
      if (process.env.EMOMO_BENCH_TRACE) {
        const chats = fake.requests.slice(before).filter((r) => r.endpoint === 'chat');
        const t0 = Math.min(...chats.map((r) => r.at));
        const line: string[] = [];
        for (let t = t0; t < Math.max(...chats.map((r) => r.answeredAt ?? r.at)); t += 1000) {
          line.push(String(chats.filter((r) => r.at <= t && (r.answeredAt ?? Infinity) > t).length));
        }
        process.stderr.write(`describe calls in flight, per second: ${line.join(' ')}\n`);
      }
    } finally {
      await s3?.stop();
      await db.drop();
      ws.cleanup();
    }
  }
} finally {
  await fake.close();
}
console.table(rows);
console.log(JSON.stringify(rows.map((r) => ({ processes: r.processes, items_per_s: r.items_per_s, speedup: r.speedup }))));
