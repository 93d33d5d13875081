/**
 * A second fake OpenAI-compatible (and Jina-compatible) API, independent of
 * fake-openai-server.ts in how it misbehaves: its own random generator
 * (xorshift, not mulberry32), its own seed, and its own fault timing — a 429
 * is answered at once, a 500 after a random share of the latency, a success
 * after a latency jittered ±50 %. It behaves like a real rate-limited API:
 *
 * - every 429 announces a window (`Retry-After` seconds from the moment it
 *   was sent); a request that arrives inside an announced window of its
 *   endpoint is answered 429 again (and shows up in `violations`);
 * - `outage` answers 503 (no Retry-After) to everything for a while, once
 *   `afterRequests` requests have arrived.
 *
 * Chat and embeddings are separate providers to it (separate windows), as
 * they are to emomo (separate base URLs). It runs in a child process
 * (rate-limited-provider-process.ts), so the arrival times it records are
 * not skewed by the event loop of the run under test.
 *
 *   const fake = await startRateLimitedProvider({ p429: 0.1, p500: 0.05, seed: 2024 });
 *   // ... run ingest against fake.baseURL (chat) and fake.url (Jina)
 *   const report = await fake.report();
 *   violations(report, 150)  // requests that arrived > 150 ms into a window
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from './workspace.js';

export type Family = 'chat' | 'embeddings';

export interface Arrival {
  family: Family;
  /** Epoch ms when the request had arrived. */
  at: number;
  status: number;
  /** The client's sequence number (test/helpers/fetch-recorder.ts), when it sent one. */
  seq?: number;
}

export interface Window {
  family: Family;
  /** The request whose 429 announced it. */
  seq?: number;
  /** When the 429 was sent. */
  from: number;
  /** When its Retry-After expired. */
  until: number;
}

export interface RateLimitedOptions {
  p429: number;
  p500: number;
  seed: number;
  /** Retry-After, in whole seconds (default 1). */
  retryAfterS?: number;
  latencyMs?: Partial<Record<Family, number>>;
  outage?: { afterRequests: number; ms: number };
}

export interface ProviderReport {
  arrivals: Arrival[];
  windows: Window[];
  /** When the outage began (0: it did not). */
  outageFrom: number;
}

export interface RateLimitedProvider {
  url: string;
  baseURL: string;
  report(): Promise<ProviderReport>;
  close(): Promise<void>;
}

type Message = { type: 'ready'; port: number } | ({ type: 'report'; id: number } & ProviderReport);

export async function startRateLimitedProvider(opts: RateLimitedOptions): Promise<RateLimitedProvider> {
  const child = fork(path.join(projectRoot, 'test', 'helpers', 'rate-limited-provider-process.ts'), [JSON.stringify(opts)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const reports = new Map<number, (r: ProviderReport) => void>();
  let next = 0;
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.on('message', (m: Message) => {
      if (m.type === 'ready') resolve(m.port);
      if (m.type === 'report') reports.get(m.id)?.(m);
    });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    report: () =>
      new Promise<ProviderReport>((resolve) => {
        const id = next++;
        reports.set(id, resolve);
        child.send({ type: 'report', id });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

/** Requests that arrived more than `graceMs` after a 429 of their endpoint was sent and before its Retry-After expired. */
export function violations(report: ProviderReport, graceMs: number): Array<{ arrival: Arrival; window: Window }> {
  return report.arrivals.flatMap((arrival) => {
    const window = report.windows.find((w) => w.family === arrival.family && arrival.at > w.from + graceMs && arrival.at < w.until);
    return window ? [{ arrival, window }] : [];
  });
}
