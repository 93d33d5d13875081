/**
 * A second fake OpenAI-compatible (and Jina-compatible) API, independent of
 * fake-openai-server.ts in how it misbehaves: its own random generator
 * (xorshift, not mulberry32), its own seed, and its own fault timing — a 429
 * is answered at once, a 500 after a random share of the latency, a success
 * after a latency jittered ±50 %. It behaves like a real rate-limited API:
 *
 * - every 429 announces a window (`Retry-After` seconds from the moment it
 *   was sent); a request that arrives inside an announced window of its
 *   endpoint is answered 429 again and recorded as a violation;
 * - `outage(ms)` answers 503 (no Retry-After) to everything for that long.
 *
 * Chat and embeddings are separate providers to it (separate windows), as
 * they are to emomo (separate base URLs). Replies reuse the deterministic
 * descriptions and vectors of fake-openai-server.ts.
 *
 *   const fake = await startRateLimitedProvider({ p429: 0.1, p500: 0.05, seed: 2024 });
 *   // ... run ingest against fake.baseURL (chat) and fake.url (Jina)
 *   fake.violations(150)  // requests that arrived > 150 ms into a window
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chatReply, embeddingsReply } from './fake-openai-server.js';

type Family = 'chat' | 'embeddings';

export interface Arrival {
  family: Family;
  /** Epoch ms when the request had arrived. */
  at: number;
  status: number;
}

export interface Window {
  family: Family;
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
}

export interface RateLimitedProvider {
  url: string;
  baseURL: string;
  arrivals: Arrival[];
  windows: Window[];
  /** Answers 503 to every request from now on, for `ms`. */
  outage(ms: number): void;
  /** Stops injecting 429s and 500s (outages still apply). */
  calm(): void;
  /** Requests that arrived more than `graceMs` after a 429 of their endpoint and before its Retry-After expired. */
  violations(graceMs: number): Array<{ arrival: Arrival; window: Window }>;
  close(): Promise<void>;
}

const now = () => performance.timeOrigin + performance.now();

/** xorshift32: deliberately not the generator the other fake uses. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

export async function startRateLimitedProvider(opts: RateLimitedOptions): Promise<RateLimitedProvider> {
  const random = xorshift(opts.seed);
  const retryAfterMs = (opts.retryAfterS ?? 1) * 1000;
  const arrivals: Arrival[] = [];
  const windows: Window[] = [];
  let outageUntil = 0;
  let calm = false;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = now();
      const path = (req.url ?? '').split('?')[0] ?? '';
      const family: Family | undefined = path.endsWith('/chat/completions') ? 'chat' : path.endsWith('/embeddings') ? 'embeddings' : undefined;
      const arrival: Arrival = { family: family ?? 'chat', at, status: 0 };
      if (family) arrivals.push(arrival);
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        arrival.status = status;
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      const error = (status: number, message: string, headers?: Record<string, string>) =>
        send(status, { error: { message, type: 'rate_limited_fake', code: status } }, headers);
      const limit = () => {
        windows.push({ family: family!, from: now(), until: now() + retryAfterMs });
        error(429, 'Too many requests, slow down', { 'retry-after': String(retryAfterMs / 1000) });
      };

      if (!family) return error(404, `no route ${path}`);
      const latency = opts.latencyMs?.[family] ?? 10;
      if (at < outageUntil) return setTimeout(() => error(503, 'service unavailable'), latency * random());
      if (windows.some((w) => w.family === family && at >= w.from && at < w.until)) return limit();
      const r = calm ? 1 : random();
      if (r < opts.p429) return limit();
      if (r < opts.p429 + opts.p500) return setTimeout(() => error(500, 'internal error'), latency * random());
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return error(400, 'body is not JSON');
      }
      const reply = family === 'chat' ? chatReply(body) : embeddingsReply(body, undefined, 1024);
      if (typeof reply === 'string') return error(400, reply);
      setTimeout(() => send(200, reply), latency * (0.5 + random()));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    arrivals,
    windows,
    outage: (ms) => void (outageUntil = now() + ms),
    calm: () => void (calm = true),
    violations: (graceMs) =>
      arrivals.flatMap((arrival) => {
        const window = windows.find((w) => w.family === arrival.family && arrival.at > w.from + graceMs && arrival.at < w.until);
        return window ? [{ arrival, window }] : [];
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
