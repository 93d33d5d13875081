/**
 * The server half of rate-limited-provider.ts, in its own process so that
 * the arrival times it records are the provider's, not delayed by the event
 * loop of the ingest under test. Started with the options as JSON in argv[2];
 * messages: parent → {type:'report', id}; child → {type:'ready', port},
 * {type:'report', id, arrivals, windows, outageFrom}.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chatReply, embeddingsReply } from './fake-openai-server.js';
import { SEQ_HEADER } from './fetch-recorder.js';
import type { Arrival, Family, RateLimitedOptions, Window } from './rate-limited-provider.js';

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

const opts = JSON.parse(process.argv[2]!) as RateLimitedOptions;
const random = xorshift(opts.seed);
const retryAfterMs = (opts.retryAfterS ?? 1) * 1000;
const arrivals: Arrival[] = [];
const windows: Window[] = [];
let outageFrom = 0;
let outageUntil = 0;

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = now();
    const path = (req.url ?? '').split('?')[0] ?? '';
    const family: Family | undefined = path.endsWith('/chat/completions') ? 'chat' : path.endsWith('/embeddings') ? 'embeddings' : undefined;
    const seq = Number(req.headers[SEQ_HEADER]) || undefined;
    const arrival: Arrival = { family: family ?? 'chat', at, status: 0, ...(seq ? { seq } : {}) };
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
      windows.push({ family: family!, from: now(), until: now() + retryAfterMs, ...(seq ? { seq } : {}) });
      error(429, 'Too many requests, slow down', { 'retry-after': String(retryAfterMs / 1000) });
    };

    if (!family) return error(404, `no route ${path}`);
    const latency = opts.latencyMs?.[family] ?? 10;
    if (opts.outage && outageFrom === 0 && arrivals.length > opts.outage.afterRequests) {
      outageFrom = at;
      outageUntil = at + opts.outage.ms;
    }
    if (at < outageUntil) return setTimeout(() => error(503, 'service unavailable'), latency * random());
    if (windows.some((w) => w.family === family && at >= w.from && at < w.until)) return limit();
    const r = random();
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

server.listen(0, '127.0.0.1', () => process.send!({ type: 'ready', port: (server.address() as AddressInfo).port }));
process.on('message', (message: { type: string; id: number }) => {
  if (message.type === 'report') process.send!({ type: 'report', id: message.id, arrivals, windows, outageFrom });
});
process.on('disconnect', () => process.exit(0));
