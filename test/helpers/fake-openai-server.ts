/**
 * A fake OpenAI-compatible (and Jina-compatible) API: a real node:http server
 * on 127.0.0.1 that the production clients talk to unchanged.
 *
 *   POST /v1/chat/completions  a JSON description derived from the image bytes
 *   POST /v1/embeddings        OpenAI shape, or Jina's (body has `task`);
 *                              deterministic unit vectors of the requested size;
 *                              multimodal items too: `{"text": …}`, and
 *                              `{"image": base64 or data URL}` embedded from a
 *                              16×16 downscale of the decoded pixels, so similar
 *                              pictures get similar vectors
 *
 * Every request is recorded (time, endpoint, auth header presence, body, the
 * pictures of a chat request, what was answered), latency is configurable per endpoint, and faults are scripted
 * per request: 429 with Retry-After, 5xx, 401, a connection that never
 * answers, a body that is not JSON, a reply that is not the JSON asked for,
 * vectors of the wrong size.
 *
 *   const fake = await startFakeOpenAI({ latencyMs: { embeddings: 50 } });
 *   fake.setFaults({ embeddings: randomFaults({ p429: 0.1, retryAfter: '1' }) });
 *   // config: base_url: fake.baseURL (OpenAI clients), fake.url (Jina)
 *   await fake.close();
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fakeImageVector } from './fake-image-vector.js';
import { seededRandom } from './seeded-random.js';

export type Endpoint = 'chat' | 'embeddings';

export interface RecordedRequest {
  /** 1-based, in arrival order. */
  seq: number;
  endpoint: Endpoint | 'other';
  path: string;
  /** Epoch milliseconds (sub-ms precision) when the request body had arrived. */
  at: number;
  /** When the answer was sent; undefined while pending or for a hung request. */
  answeredAt?: number;
  hasAuth: boolean;
  /** Parsed JSON body (undefined if it was not JSON). */
  body: any;
  /** sha1 of the raw body: a retried request has the same hash as the original. */
  bodyHash: string;
  /** Status answered (0 = never answered). */
  status: number;
  retryAfter?: string;
  /** Texts in an embeddings request. */
  batchSize?: number;
  /** Pictures of a chat request, decoded from their data URLs, in message order. */
  images?: Buffer[];
}

/** What to do with one request instead of (or on top of) the normal answer. */
export interface Fault {
  status?: number;
  retryAfter?: string;
  /** Error message in the body (default "scripted <status>"); may echo a key, as some providers do. */
  message?: string;
  /** Never answer (until the client gives up or the server closes). */
  hang?: boolean;
  /** Answer 200 with a body that is not JSON. */
  malformedBody?: boolean;
  /** chat: the assistant's reply text, verbatim. */
  content?: string;
  /** embeddings: texts whose vector gets one extra dimension. */
  wrongDims?: (text: string) => boolean;
}

export type FaultRule = (req: RecordedRequest) => Fault | undefined;
export type Faults = Partial<Record<Endpoint, FaultRule>>;

export interface FakeOpenAIOptions {
  /** When set, any other bearer token is answered 401. */
  apiKey?: string;
  latencyMs?: Partial<Record<Endpoint, number>>;
  faults?: Faults;
  /** Vector size when the request names no `dimensions`. */
  defaultDims?: number;
}

export interface FakeOpenAI {
  /** http://127.0.0.1:PORT (Jina-style base). */
  url: string;
  /** http://127.0.0.1:PORT/v1 (what OpenAI clients take as baseURL). */
  baseURL: string;
  requests: RecordedRequest[];
  setFaults(faults: Faults): void;
  setLatency(latency: Partial<Record<Endpoint, number>>): void;
  count(endpoint: Endpoint, predicate?: (r: RecordedRequest) => boolean): number;
  close(): Promise<void>;
}

const now = () => performance.timeOrigin + performance.now();

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  let faults: Faults = { ...options.faults };
  let latency: Partial<Record<Endpoint, number>> = { ...options.latencyMs };
  const requests: RecordedRequest[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '').split('?')[0] ?? '';
      const endpoint: RecordedRequest['endpoint'] = path.endsWith('/chat/completions')
        ? 'chat'
        : path.endsWith('/embeddings')
          ? 'embeddings'
          : 'other';
      const record: RecordedRequest = {
        seq: requests.length + 1,
        endpoint,
        path,
        at: now(),
        hasAuth: typeof req.headers.authorization === 'string' && req.headers.authorization.length > 0,
        body: parseJson(raw),
        bodyHash: createHash('sha1').update(raw).digest('hex'),
        status: 0,
      };
      if (endpoint === 'embeddings' && Array.isArray(record.body?.input)) record.batchSize = record.body.input.length;
      if (endpoint === 'chat') record.images = imageUrls(record.body).map((url) => Buffer.from(url.replace(/^data:[^,]*,/, ''), 'base64'));
      requests.push(record);
      const fault = endpoint === 'other' ? undefined : faults[endpoint]?.(record);
      if (fault?.hang) return; // the socket stays open; close() destroys it
      const delay = endpoint === 'other' ? 0 : (latency[endpoint] ?? 0);
      setTimeout(() => answer(record, fault, req, res), delay);
    });
  });

  const answer = (record: RecordedRequest, fault: Fault | undefined, req: http.IncomingMessage, res: http.ServerResponse) => {
    if (res.destroyed || req.socket.destroyed) return; // the client gave up (timeout)
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      record.status = status;
      record.answeredAt = now();
      if (headers['retry-after']) record.retryAfter = headers['retry-after'];
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    };
    const error = (status: number, message: string, headers?: Record<string, string>) =>
      send(status, JSON.stringify({ error: { message, type: 'fake_error', code: status } }), headers);

    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) return error(401, 'Incorrect API key provided');
    if (fault?.status) {
      return error(fault.status, fault.message ?? `scripted ${fault.status}`, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    }
    if (fault?.malformedBody) return send(200, '{"id": "x", "choices": [ {"message": ');
    if (record.endpoint === 'other') return error(404, `no route ${record.path}`);
    if (record.body === undefined) return error(400, 'body is not JSON');
    if (record.endpoint === 'chat') return send(200, JSON.stringify(chatReply(record.body, fault)));
    void multimodalEmbeddingsReply(record.body, fault, options.defaultDims ?? 1024).then((reply) =>
      typeof reply === 'string' ? error(400, reply) : send(200, JSON.stringify(reply)),
    );
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    requests,
    setFaults: (f) => void (faults = { ...f }),
    setLatency: (l) => void (latency = { ...l }),
    count: (endpoint, predicate = () => true) => requests.filter((r) => r.endpoint === endpoint && predicate(r)).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Random faults at the given rates (deterministic for a seed): p429 answered
 * 429 with `Retry-After: retryAfter`, p500 answered 500.
 */
export function randomFaults(opts: { p429?: number; p500?: number; retryAfter?: string; seed?: number }): FaultRule {
  const random = seededRandom(opts.seed ?? 1);
  return () => {
    const r = random();
    if (r < (opts.p429 ?? 0)) return { status: 429, retryAfter: opts.retryAfter ?? '1' };
    if (r < (opts.p429 ?? 0) + (opts.p500 ?? 0)) return { status: 500 };
    return undefined;
  };
}

/** The text of all user messages of a chat request (category and tags hints included). */
export function chatText(body: any): string {
  const parts: unknown[] = (body?.messages ?? []).flatMap((m: any) => (Array.isArray(m.content) ? m.content : [{ type: 'text', text: m.content }]));
  return parts.map((p: any) => (p?.type === 'text' ? String(p.text) : '')).join('\n');
}

/** The deterministic description the fake gives for an image (by the bytes of its data URL). */
export function fakeDescriptionFor(imageDataUrl: string): { ocr_text: string; description: string; emotions: string[] } {
  const h = createHash('md5').update(imageDataUrl).digest('hex').slice(0, 8);
  return {
    ocr_text: `配文${h}`,
    description: `熊猫头表情包，图中熊猫头一脸无奈地看着你，配文「配文${h}」，表达无语和无奈，适合在被朋友调侃时回复。编号${h}`,
    emotions: ['无奈', '无语'],
  };
}

/** The image URLs of a chat request, in message order. */
function imageUrls(body: any): string[] {
  return (body?.messages ?? [])
    .flatMap((m: any) => (Array.isArray(m.content) ? m.content : []))
    .filter((p: any) => p?.type === 'image_url' && typeof p.image_url?.url === 'string')
    .map((p: any) => p.image_url.url as string);
}

/** A chat completion whose reply is the fake description of the request's images (or `fault.content`). */
export function chatReply(body: any, fault?: Fault) {
  // Several frames of one animation are described as one image.
  const image = imageUrls(body).join('');
  const content = fault?.content ?? JSON.stringify(fakeDescriptionFor(image));
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: body?.model ?? 'fake',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 100 + image.length / 1000, completion_tokens: content.length, total_tokens: 0 },
  };
}

/** An embeddings response (OpenAI or Jina shape) with the fake vectors for text inputs, or the text of a 400. */
export function embeddingsReply(body: any, fault: Fault | undefined, defaultDims: number) {
  const input: unknown = body?.input;
  const texts = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) return 'input must be a string or an array of strings';
  const dims = typeof body.dimensions === 'number' ? body.dimensions : defaultDims;
  return reply(body, (texts as string[]).map((text) => fakeVector(`${body.task ?? ''}|${text}`, fault?.wrongDims?.(text) ? dims + 1 : dims)), texts as string[]);
}

/** The same, also for multimodal items: `{"text": …}` and `{"image": base64 or data URL}` (see fakeImageVector). */
export async function multimodalEmbeddingsReply(body: any, fault: Fault | undefined, defaultDims: number) {
  const input: unknown = body?.input;
  const items = (typeof input === 'string' ? [input] : Array.isArray(input) ? input : [undefined]) as unknown[];
  if (items.every((i) => typeof i === 'string')) return embeddingsReply(body, fault, defaultDims);
  const dims = typeof body.dimensions === 'number' ? body.dimensions : defaultDims;
  const texts: string[] = [];
  const vectors: Float32Array[] = [];
  for (const item of items) {
    const text = typeof item === 'string' ? item : (item as { text?: unknown })?.text;
    const image = (item as { image?: unknown })?.image;
    if (typeof text === 'string') {
      texts.push(text);
      vectors.push(fakeVector(`${body.task ?? ''}|${text}`, fault?.wrongDims?.(text) ? dims + 1 : dims));
    } else if (typeof image === 'string') {
      const vector = await fakeImageVector(image, dims).catch(() => undefined);
      if (!vector) return 'image is not a picture';
      vectors.push(vector);
    } else return 'each input item must be a string, {"text": …} or {"image": …}';
  }
  return reply(body, vectors, texts);
}

function reply(body: any, vectors: Float32Array[], texts: string[]) {
  const data = vectors.map((v, index) => {
    const embedding = body.encoding_format === 'base64' ? Buffer.from(v.buffer).toString('base64') : Array.from(v);
    return { object: 'embedding', index, embedding };
  });
  const tokens = texts.reduce((n, t) => n + t.length, 0) + (vectors.length - texts.length) * 256;
  return { object: 'list', model: body.model, data, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}

/** A unit vector seeded by `seed`: the same text always gets the same vector. */
export function fakeVector(seed: string, dims: number): Float32Array {
  const digest = createHash('sha256').update(seed).digest();
  const random = seededRandom(digest.readUInt32LE(0));
  const v = new Float32Array(dims);
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    v[i] = random() * 2 - 1;
    norm += v[i]! * v[i]!;
  }
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < dims; i++) v[i]! /= norm;
  return v;
}


function parseJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** How many chat (describe) calls each distinct image got, keyed by a hash of the images sent. */
export function chatCallsPerImage(fake: Pick<FakeOpenAI, 'requests'>): Map<string, number> {
  const calls = new Map<string, number>();
  for (const r of fake.requests) {
    if (r.endpoint !== 'chat') continue;
    const key = createHash('sha1').update(imageUrls(r.body).join('')).digest('hex');
    calls.set(key, (calls.get(key) ?? 0) + 1);
  }
  return calls;
}
