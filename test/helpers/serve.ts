/**
 * `emomo serve` in-process on 127.0.0.1 (a free port), over a workspace's
 * library, with the access log captured; and plain HTTP requests to it,
 * raw paths included (fetch would tidy `..` away before sending).
 */
import http from 'node:http';
import { after, before } from 'node:test';
import { createApp, type AppOverrides } from '../../src/app.js';
import { Reporter } from '../../src/cli/reporter.js';
import { Library } from '../../src/library/library.js';
import { buildServer } from '../../src/serve/server.js';
import { serveSettings, type ServeSettings } from '../../src/serve/settings.js';
import { startCli, waitFor, type CliOptions } from './cli.js';
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai-server.js';
import { FakeDescriber, FakeEmbedder } from './fakes.js';
import { keyEnv, makeRemoteWorkspace } from './remote-workspace.js';
import { Capture, runIngest } from './run-ingest.js';
import { copySample, type Workspace } from './workspace.js';

export interface RunningServer {
  url: string;
  library: Library;
  settings: ServeSettings;
  /** The access log and other log lines so far (as `emomo serve` writes them without a TTY). */
  log(): string;
  close(): Promise<void>;
}

export async function startServer(
  configPath: string,
  settings: Partial<ServeSettings> = {},
  options: { env?: NodeJS.ProcessEnv; overrides?: AppOverrides } = {},
): Promise<RunningServer> {
  const stderr = new Capture();
  const reporter = new Reporter({ json: false, quiet: false, verbose: false }, stderr, new Capture());
  const log = reporter.log.bind(reporter);
  const app = createApp({ configPath, access: 'read', log, ...(options.env ? { env: options.env } : {}) }, options.overrides);
  const library = new Library(app);
  const resolved: ServeSettings = { ...serveSettings(app.config.serve, {}, {}), port: 0, ...settings };
  const { server } = await buildServer(library, resolved, log);
  const url = await server.listen({ host: resolved.host, port: resolved.port });
  return {
    url,
    library,
    settings: resolved,
    log: () => stderr.text,
    close: async () => {
      await server.close();
      await app.close();
    },
  };
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json: any;
}

/** One request with the path sent exactly as given. */
export function request(base: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Answer> {
  const target = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: target.hostname, port: target.port, path, method: init.method ?? 'GET', headers: init.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** `/api/recall?…` with every value encoded; arrays repeat the parameter. */
export function recallPath(params: Record<string, string | number | boolean | string[]>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) query.append(key, String(v));
  }
  return `/api/recall?${query}`;
}

export function postJson(base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return request(base, path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** `emomo serve` as its own process (the launcher's way); resolves once it printed its URL on stdout. */
export async function startServeCli(args: string[], options: CliOptions = {}) {
  const run = startCli(['serve', '--port', '0', ...args], options);
  let exited = false;
  void run.done.then(() => (exited = true));
  await waitFor(() => exited || /^http:\/\/\S+\n/.test(run.output().stdout), 60_000, 'emomo serve to print its URL');
  if (exited) {
    const { code, stderr } = await run.done;
    throw new Error(`emomo serve exited ${code}: ${stderr}`);
  }
  const url = run.output().stdout.split('\n')[0]!;
  return { ...run, url };
}

/** What the serve process tests run against: 8 sample memes (fake describer and embedder), embeddings from a fake OpenAI-compatible server. */
export interface ServedLibrary {
  fake: FakeOpenAI;
  ws: Workspace;
  /** The provider's key; EMOMO_SERVE_TOKEN emptied. */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function servedLibrary(apiKey: string): Promise<ServedLibrary> {
  const fake = await startFakeOpenAI();
  const ws = makeRemoteWorkspace(fake, { provider: 'openai', model: 'text-embedding-3-small', dims: 64 });
  copySample(ws, 'sample', 8);
  const run = await runIngest(ws, { source: 'staging:sample' }, { describer: new FakeDescriber(), embedder: () => new FakeEmbedder(64) });
  if (run.summary.added !== 8) throw new Error(`the sample was not ingested: ${run.log}`);
  return {
    fake,
    ws,
    env: { ...keyEnv(apiKey), EMOMO_SERVE_TOKEN: '' },
    close: async () => {
      await fake.close();
      ws.cleanup();
    },
  };
}

/** servedLibrary for the calling suite: made before its tests, removed after them. */
export function servedLibraryForSuite(apiKey: string): ServedLibrary {
  const served = {} as ServedLibrary;
  before(async () => void Object.assign(served, await servedLibrary(apiKey)));
  after(async () => served.close?.());
  return served;
}

/**
 * SIGTERM to a serve process while a recall waits on a hanging embedding
 * provider: the answer must still come (keyword results, partial) before the
 * process exits. Returns the answer, how the process ended and when (ms after
 * the request was sent).
 */
export async function stopWithRecallInFlight(
  serve: Awaited<ReturnType<typeof startServeCli>>,
  served: ServedLibrary,
  headers: Record<string, string> = {},
): Promise<{ answer: Answer; code: number | null; stderr: string; ms: number }> {
  served.fake.setFaults({ embeddings: () => ({ hang: true }) });
  try {
    const started = performance.now();
    const inFlight = request(serve.url, recallPath({ q: '开心', timeout: '2s' }), { headers });
    await new Promise((resolve) => setTimeout(resolve, 500));
    serve.child.kill('SIGTERM');
    const answer = await inFlight;
    if (answer.status !== 200 || answer.json?.partial !== true) throw new Error(`expected a partial answer (the provider never answered), got ${answer.status}: ${answer.text}`);
    const { code, stderr } = await serve.done;
    return { answer, code, stderr, ms: performance.now() - started };
  } finally {
    served.fake.setFaults({});
  }
}
