/**
 * `emomo serve --workers N`: N server processes sharing one port (node:cluster;
 * the primary accepts connections and hands them out in turn). A search runs
 * on its process's one thread, so more processes answer more new questions at
 * once, up to the machine's cores. Each worker is an ordinary `emomo serve`
 * with its own read-only connection and its own cache.
 *
 * The primary prints the URL once every worker listens, restarts a worker that
 * dies (at most MAX_RESTARTS a minute), and on SIGTERM / Ctrl+C asks each to
 * stop (a message, so a worker that got the terminal's signal too is not told
 * twice and forced): each answers its requests in flight, then exits. A worker
 * that fails before it listens (the port is taken) stops them all, and the
 * server fails with its message (one `{"error"}` object with --json: workers
 * never write to stdout).
 */
import cluster, { type Worker } from 'node:cluster';
import { ExitCode, UsageError, errorMessage } from '../errors.js';
import type { Log } from '../ports.js';
import type { ServeOutput } from './run.js';

/** Restarts of crashed workers allowed within a minute before the server gives up. */
export const MAX_RESTARTS = 5;

type Message = { emomo: 'listening'; url: string } | { emomo: 'stop' } | { emomo: 'failed'; message: string };

export const isServeWorker = (): boolean => cluster.isWorker;

/**
 * Serve as a worker: the stop signal also fires when the primary asks (or goes
 * away), log lines say which worker, the URL goes to the primary. The IPC
 * channel is closed at the end (whatever happened) so the process can exit.
 */
export async function serveAsWorker(out: ServeOutput, signal: AbortSignal, serve: (out: ServeOutput, stop: AbortSignal) => Promise<number>): Promise<number> {
  try {
    return await serve(workerOutput(out), workerStop(signal));
  } catch (err) {
    process.send?.({ emomo: 'failed', message: errorMessage(err) } satisfies Message);
    throw err;
  } finally {
    if (cluster.worker?.isConnected()) cluster.worker.disconnect();
  }
}

function workerStop(signal: AbortSignal): AbortSignal {
  const stop = new AbortController();
  const abort = () => stop.abort();
  signal.addEventListener('abort', abort, { once: true });
  process.on('message', (message: Message) => {
    if (message?.emomo === 'stop') abort();
  });
  process.once('disconnect', abort);
  return stop.signal;
}

function workerOutput(out: ServeOutput): ServeOutput {
  const id = cluster.worker?.id;
  return {
    log: (level, msg, fields) => out.log(level, msg, msg === 'serving' ? { ...fields, worker: id, pid: process.pid } : { ...fields, worker: id }),
    ready: (url) => process.send?.({ emomo: 'listening', url } satisfies Message),
  };
}

export interface ReadyInfo {
  host: string;
  token: boolean;
  public: boolean;
}

/**
 * In the primary: start `count` workers (this same command line), run until
 * stopped, return the exit code; rejects with a worker's error when one cannot
 * start (a UsageError when it exited 2).
 */
export function runServeWorkers(count: number, info: ReadyInfo, out: ServeOutput, stop: AbortSignal): Promise<number> {
  const log: Log = out.log;
  // Workers say where they listen over IPC; their stdout would only add a second URL or error object.
  cluster.setupPrimary({ stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const live = new Set<Worker>();
    const listening = new Set<Worker>();
    const restarts: number[] = [];
    let announced = false;
    let stopping = false;
    let exitCode: number = ExitCode.ok;
    let failure: Error | undefined;
    const failures = new Map<Worker, string>();

    const stopAll = () => {
      stopping = true;
      for (const worker of live) if (worker.isConnected()) worker.send({ emomo: 'stop' } satisfies Message);
      if (live.size === 0) finish();
    };
    const finish = () => {
      if (announced) log('info', 'stopped', { workers: count });
      if (failure) reject(failure);
      else resolve(exitCode);
    };
    const start = () => {
      const worker = cluster.fork();
      live.add(worker);
      worker.on('message', (message: Message) => {
        if (message?.emomo === 'failed') failures.set(worker, message.message);
        if (message?.emomo !== 'listening') return;
        // Asked to stop while it was starting (before it could hear the request): ask again.
        if (stopping) return void worker.send({ emomo: 'stop' } satisfies Message);
        listening.add(worker);
        if (!announced && listening.size === count) {
          announced = true;
          const port = Number(new URL(message.url).port);
          log('info', 'serving', { url: message.url, workers: count });
          out.ready(message.url, { host: info.host, port, token: info.token, public: info.public });
        }
      });
      worker.on('exit', (code, signal) => {
        live.delete(worker);
        const started = listening.delete(worker);
        if (stopping) {
          if (code !== 0 && code !== null) exitCode = Math.max(exitCode, code);
          if (live.size === 0) finish();
          return;
        }
        if (!started) {
          const message = failures.get(worker) ?? `a server process exited (${code ?? signal}) before it listened`;
          failure ??= code === ExitCode.usage ? new UsageError(message) : new Error(message);
          return stopAll();
        }
        const now = Date.now();
        restarts.push(now);
        while (restarts.length > 0 && restarts[0]! < now - 60_000) restarts.shift();
        if (restarts.length > MAX_RESTARTS) {
          log('error', `server processes died ${restarts.length} times within a minute; stopping`, { worker: worker.id, exit: code ?? signal });
          exitCode = ExitCode.aborted;
          return stopAll();
        }
        log('warn', 'a server process died; starting another', { worker: worker.id, exit: code ?? signal });
        start();
      });
    };

    for (let i = 0; i < count; i++) start();
    if (stop.aborted) stopAll();
    else stop.addEventListener('abort', () => {
      log('info', 'stopping: each server process answers its requests in flight', { workers: live.size });
      stopAll();
    }, { once: true });
  });
}
