/**
 * `npm run bench:serve -- [--n 100000] [--connections 200] [--duration 30] [--phases cached,uncached] [--library DIR] [--server-flags="..."] [--cli PATH] [--workers N]`
 *
 * `--workers N`: `emomo serve --workers N`; RSS and CPU are then the sums over
 * the server and its worker processes.
 *
 * `--server-flags="--cpu-prof --cpu-prof-dir=DIR"`: Node flags for the server
 * (a CPU profile, `--trace-gc`, ...).
 *
 * `--cli PATH`: serve with another built CLI (e.g. an older version's
 * dist/cli/index.js, for a before/after comparison); this checkout is not built then.
 *
 * `--library DIR`: the generated library is kept in DIR (made on the first
 * run, about 5 minutes for 100,000 memes) and reused by the next runs, so
 * a run can be repeated when the machine is quieter.
 *
 * `emomo serve` under load, on loopback: the built CLI (`node dist/cli/index.js
 * serve`, as systemd would run it, access log on) over n generated memes
 * (word captions, local lexical vectors: bench/meme-words.ts), and autocannon
 * with `--connections` clients sending keyword recalls back to back for
 * `--duration` seconds, each request the next of the benchmark queries
 * (paraphrases, slang, captions; top_k 10). Phases:
 *   cached    the shipped config: repeated queries come from the result cache
 *             (until the library changes), the rest are searched;
 *   uncached  serve.cache_entries 0: every request is a search.
 *   hybrid    hybrid mode, cache on (vector and keyword).
 * Each phase gets a fresh server, a warm-up pass over the queries, then the
 * run; the server's RSS is read from /proc at start, after the warm-up,
 * every 5 s (each sample listed) and at the end, and the server's CPU time per request; with `--server-flags=--trace-gc`
 * also the heap left after each full collection during the run. Reports p50 / p99 latency, requests/s, errors
 * (connection errors, timeouts and non-2xx answers). The last line is one
 * JSON object.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { makeWorkspace, projectRoot, type Workspace } from '../test/helpers/workspace.js';
import { benchQueries, generateWordLibrary } from './meme-words.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    connections: { type: 'string', default: '200' },
    duration: { type: 'string', default: '30' },
    phases: { type: 'string', default: 'cached,uncached' },
    library: { type: 'string' },
    'server-flags': { type: 'string', default: '' },
    cli: { type: 'string' },
    workers: { type: 'string', default: '1' },
  },
});
const n = Number(values.n);
const connections = Number(values.connections);
const duration = Number(values.duration);
const phases = values.phases.split(',');
const serverFlags = values['server-flags'].split(' ').filter(Boolean);

const workerArgs = values.workers === '1' ? [] : ['--workers', values.workers];

/** The server and its worker processes (--workers). */
const serverPids = (pid: number) => [
  pid,
  ...fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => {
    try {
      return Number(fs.readFileSync(`/proc/${p}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1]) === pid;
    } catch {
      return false; // gone meanwhile
    }
  }),
];
const sum = (pid: number, one: (pid: number) => number) => serverPids(pid).reduce((total, p) => total + one(p), 0);

const rssMb = (pid: number) =>
  sum(pid, (p) => Math.round(Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024));

/** A running server; with `--server-flags=--trace-gc`, the heap left after each full collection (MB) as it goes. */
/** CPU time the process has used (user + system), in ms: what an answer costs, whatever else the machine runs. */
const cpuMs = (pid: number) =>
  sum(pid, (p) => {
    const fields = fs.readFileSync(`/proc/${p}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime in ticks of 10 ms
  });

async function startServer(config: string, logFile: string): Promise<{ child: ChildProcess; url: string; heapAfterGc: number[] }> {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [...serverFlags, cli, 'serve', '--config', config, '--port', '0', ...workerArgs], {
    stdio: ['ignore', 'pipe', log],
  });
  fs.closeSync(log);
  const heapAfterGc: number[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const line of lines) {
        if (/^http:\/\/\S+$/.test(line)) resolve(line);
        const gc = /Mark-Compact[^>]*-> ([\d.]+)/.exec(line);
        if (gc) heapAfterGc.push(Number(gc[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`emomo serve exited ${code}; see ${logFile}`)));
  });
  return { child, url, heapAfterGc };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function load(url: string, paths: string[], seconds: number, clients: number) {
  let next = 0;
  return autocannon({
    url,
    connections: clients,
    duration: seconds,
    timeout: 20,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: paths[next++ % paths.length]! }) }],
  });
}

const LOCAL_512 = 'embeddings:\n  - name: local\n    provider: local\n    dimensions: 512\n    collection: emomo-local\n';

/** A workspace kept in `dir` across runs: made (empty) the first time, never cleaned up. */
function keptWorkspace(dir: string): Workspace {
  const marker = path.join(dir, 'workspace.json');
  if (fs.existsSync(marker)) return { ...(JSON.parse(fs.readFileSync(marker, 'utf8')) as Omit<Workspace, 'cleanup'>), cleanup: () => {} };
  const made = makeWorkspace('', LOCAL_512);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.renameSync(made.dir, dir);
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replaceAll(made.dir, dir));
  const ws = { dir, config, db: path.join(dir, 'emomo.db'), objects: path.join(dir, 'objects'), staging: path.join(dir, 'staging') };
  fs.writeFileSync(marker, JSON.stringify(ws));
  return { ...ws, cleanup: () => {} };
}

// ------------------------------------------------------------ the library and the built CLI

const cli = values.cli ? path.resolve(values.cli) : path.join(projectRoot, 'dist', 'cli', 'index.js');
if (!values.cli) {
  spawnSync(process.execPath, [path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(projectRoot, 'tsconfig.build.json')], { stdio: 'inherit' });
}
const ws = values.library ? keptWorkspace(path.resolve(values.library)) : makeWorkspace('', LOCAL_512);
const logFile = path.join(os.tmpdir(), `emomo-serve-bench-${process.pid}.log`);
const rows: Array<Record<string, string | number>> = [];
let memes = 0;
try {
  if (!fs.existsSync(ws.db)) {
    const t0 = performance.now();
    generateWordLibrary(ws, n, 512);
    process.stderr.write(`generated ${n} memes in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  const db = new Database(ws.db, { readonly: true });
  memes = db.prepare('SELECT count(*) FROM memes').pluck().get() as number;
  db.close();
  const base = fs.readFileSync(ws.config, 'utf8');
  const phaseConfig = path.join(ws.dir, 'serve-bench.yaml');

  for (const phase of phases) {
    const mode = phase === 'hybrid' ? 'hybrid' : 'keyword';
    const cacheEntries = phase === 'uncached' ? 0 : 1000;
    fs.writeFileSync(phaseConfig, `${base}serve:\n  cache_entries: ${cacheEntries}\n`);
    const paths = benchQueries.map((q) => `/api/recall?${new URLSearchParams({ q, mode, top_k: '10' })}`);
    const { child, url, heapAfterGc } = await startServer(phaseConfig, logFile);
    const pid = child.pid!;
    const rss = { start: rssMb(pid), warm: 0, end: 0, max: 0, every5s: [] as number[] };
    for (const p of paths) await fetch(`${url}${p}`).then((r) => r.arrayBuffer()); // warm-up: page cache, JIT, thesaurus
    rss.warm = rssMb(pid);
    const gcBeforeRun = heapAfterGc.length;
    const sampler = setInterval(() => rss.every5s.push(rssMb(pid)), 5000);
    process.stderr.write(`${phase}: ${connections} clients for ${duration} s (load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})\n`);
    const cpuBefore = cpuMs(pid);
    const result = await load(url, paths, duration, connections);
    const cpuPerAnswer = (cpuMs(pid) - cpuBefore) / result.requests.total;
    clearInterval(sampler);
    rss.end = rssMb(pid);
    rss.max = Math.max(rss.end, ...rss.every5s);
    await stop(child);
    rows.push({
      phase,
      mode,
      cache: cacheEntries > 0 ? 'on' : 'off',
      requests: result.requests.total,
      'req/s': Math.round(result.requests.average),
      p50_ms: result.latency.p50,
      p99_ms: result.latency.p99,
      errors: result.errors + result.non2xx,
      // The server's CPU time per request: how lean it is, little changed by the machine's other load.
      'server CPU µs/req': Math.round(cpuPerAnswer * 1000),
      // autocannon counts its own time-outs (no answer within 20 s) among errors.
      'errors: timeouts / non-2xx / other': `${result.timeouts} / ${result.non2xx} / ${result.errors - result.timeouts}`,
      'RSS start MB': rss.start,
      'RSS warm MB': rss.warm,
      'RSS end MB': rss.end,
      'RSS max MB': rss.max,
      // Growth shows as a climb from one 5 s sample to the next; a plateau after the warm-up is the cache and buffers filling.
      'RSS every 5 s': rss.every5s.join(' '),
      // --trace-gc only: the heap after each full collection during the run; a leak climbs from one to the next.
      'heap after full GC MB': heapAfterGc.slice(gcBeforeRun).map((mb) => Math.round(mb)).join(' '),
      load: os.loadavg()[0]!.toFixed(1),
    });
  }
} finally {
  ws.cleanup();
}
console.table(rows);
process.stderr.write(`server log: ${logFile}\n`);
console.log(JSON.stringify({ memes, connections, duration, workers: Number(values.workers), phases: rows }));
