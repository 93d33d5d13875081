/**
 * `emomo serve` from start to stop: listen, say where, answer until the stop
 * signal (SIGTERM, Ctrl+C), then stop taking requests, answer the ones in
 * flight and return. The app (and its read-only library) is the command's.
 * With `--workers N` this process starts N that do so and watches them
 * (workers.ts).
 */
import type { App } from '../app.js';
import { ExitCode, UsageError } from '../errors.js';
import { Library } from '../library/library.js';
import type { Log } from '../ports.js';
import { buildServer } from './server.js';
import { serveSettings, type ServeFlags, type ServeSettings } from './settings.js';
import { isServeWorker, runServeWorkers, serveAsWorker } from './workers.js';

export interface ServeOutput {
  log: Log;
  /** One line on stdout once listening: the URL (or, with --json, an object with it). */
  ready(url: string, settings: { host: string; port: number; token: boolean; public: boolean }): void;
}

export async function runServe(app: App, flags: ServeFlags, out: ServeOutput, stop: AbortSignal, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const settings = serveSettings(app.config.serve, flags, env);
  if (isServeWorker()) return serveAsWorker(out, stop, (o, s) => serveHere(app, settings, o, s));
  if ((flags.workers ?? 1) > 1) {
    const ready = { host: settings.host, token: settings.token !== undefined, public: settings.public };
    return runServeWorkers(flags.workers!, ready, out, stop);
  }
  return serveHere(app, settings, out, stop);
}

async function serveHere(app: App, settings: ServeSettings, out: ServeOutput, stop: AbortSignal): Promise<number> {
  const library = new Library(app);
  const { server, slots, drain } = await buildServer(library, settings, out.log);
  let url: string;
  try {
    url = await server.listen({ host: settings.host, port: settings.port });
  } catch (err) {
    await server.close();
    throw listenProblem(err, settings.host, settings.port);
  }
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  const memes = (await library.health()).library;
  out.log('info', 'serving', {
    url,
    library: app.dbPath,
    memes: memes.reachable ? memes.memes : undefined,
    token: settings.token !== undefined,
    cors: settings.corsOrigins.join(',') || undefined,
  });
  out.ready(url, { host: settings.host, port, token: settings.token !== undefined, public: settings.public });

  if (!stop.aborted) await new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true }));
  out.log('info', 'stopping: answering the requests in flight', { searches: slots.active, waiting: slots.waiting });
  await drain();
  out.log('info', 'stopped');
  return ExitCode.ok;
}

function listenProblem(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new UsageError(`port ${port} on ${host} is taken (another emomo serve?); choose another with --port`);
  if (code === 'EACCES') return new UsageError(`not allowed to listen on ${host}:${port} (ports below 1024 need privileges); choose another with --port`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new UsageError(`--host ${host} is not an address of this machine`);
  return err;
}
