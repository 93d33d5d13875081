/**
 * The JSON API: /api/recall (GET and POST), /api/memes/{md5}, /api/stats,
 * /healthz and /api/openapi.json. Each route validates its input with its
 * schema and answers in the library's shapes; image URLs in answers point
 * at this server's /objects route (or at S3 / R2's public URL).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError } from './errors.js';
import type { Library } from '../library/library.js';
import type { RecallJson } from '../library/recall-json.js';
import { VERSION } from '../version.js';
import { openApiDocument } from './openapi.js';
import { recallHeaders, type RenderedRecall } from './front-door.js';
import { RecallCache, type CacheAnswer } from './recall-cache.js';
import { recallBodySchema, recallOptions, recallQuerySchema, type RecallParams } from './recall-params.js';
import { healthSchema, memeSchema, statsSchema } from './schemas.js';
import { SearchSlots } from './search-slots.js';
import type { ServeSettings } from './settings.js';

export interface ApiContext {
  library: Library;
  settings: ServeSettings;
  slots: SearchSlots;
}

/**
 * Where clients fetch objects: undefined when the storage has its own public URL, else the base of this server's
 * /objects route (serve.public_url, or the Host the request was sent to; emomo serve speaks plain HTTP).
 */
function objectBases(ctx: ApiContext): (host: string) => string | undefined {
  const storage = ctx.library.app.config.storage;
  if (storage.type !== 'local' && storage.publicUrl) return () => undefined;
  const fixed = ctx.settings.publicUrl?.replace(/\/+$/, '');
  return fixed !== undefined ? () => fixed : (host) => `http://${host}`;
}

/** Where clients fetch an object from this base: the storage's own public URL (no base), else this server's /objects route. */
function objectUrl(base: string | undefined): (key: string) => string | undefined {
  return base === undefined ? () => undefined : (key) => `${base}/objects/${key}`;
}

function render(result: RecallJson, url: (key: string) => string | undefined): RenderedRecall {
  const answer = { ...result, results: result.results.map((r) => ({ ...r, url: url(r.storage_key) ?? r.url })) };
  const body = JSON.stringify(answer);
  return { body, bytes: Buffer.byteLength(body), results: result.results.length, partial: result.partial, failed: result.failed };
}

/** What the front door (front-door.ts) needs of the recall routes. */
export interface RecallRepeats {
  repeat(text: string): Promise<RenderedRecall | undefined>;
  requestText(host: string, url: string): string;
}

export function registerApiRoutes(server: FastifyInstance, ctx: ApiContext): RecallRepeats {
  const { library, settings, slots } = ctx;
  const objectBase = objectBases(ctx);
  // Answers are kept as the text sent: a hit costs a lookup, not a serialisation.
  const cache = new RecallCache<RenderedRecall>(settings.cacheEntries, () => library.changeMark(), (r) => !r.partial && !r.failed);

  const send = (req: FastifyRequest, reply: FastifyReply, value: RenderedRecall, source: CacheAnswer<RenderedRecall>['source']) => {
    req.recallSummary = { results: value.results, partial: value.partial, cache: source };
    return reply.headers(recallHeaders(value, source)).send(value.body);
  };

  // A GET asked before, word for word and by the same host, was valid then and is answered as then: the front door
  // finds it by its URL before Fastify parses or validates it again (the hot path of a chat bot asking the same things).
  const requestText = (host: string, url: string) => `${objectBase(host) ?? ''} ${url}`;

  const answerRecall = async (req: FastifyRequest, reply: FastifyReply, params: RecallParams, alias?: string) => {
    const { query, options } = recallOptions(params, settings);
    const url = objectUrl(objectBase(req.host));
    // The answer is due at the request's time limit: the slots refuse it at once when their line is longer than that.
    const deadline = performance.now() + settings.requestTimeoutMs - reply.elapsedTime;
    const search = async () => render(await slots.run(() => library.recall(query, options), deadline), url);
    // A picture is never cached (nor compared by its bytes); text queries are, keyed by every option and the URL base.
    const { value, source } = options.image
      ? { value: await search(), source: 'miss' as const }
      : await cache.get(JSON.stringify([url('') ?? '', query, options]), search, alias);
    return send(req, reply, value, source);
  };

  // The answers' schema (recallSchema) is in /api/openapi.json; they are rendered above, not by Fastify's serialiser.
  server.get<{ Querystring: RecallParams }>(
    '/api/recall',
    { schema: { querystring: recallQuerySchema(settings) } },
    (req, reply) => answerRecall(req, reply, req.query, requestText(req.host, req.raw.url ?? '')),
  );
  server.post<{ Body: RecallParams }>('/api/recall', { schema: { body: recallBodySchema(settings) } }, (req, reply) =>
    answerRecall(req, reply, req.body ?? {}),
  );

  server.get<{ Params: { md5: string } }>('/api/memes/:md5', { schema: { response: { 200: memeSchema } } }, async (req) => {
    const meme = await library.meme(req.params.md5);
    if (!meme) throw new NotFoundError(`no meme with md5 ${req.params.md5}`);
    return { ...meme, url: objectUrl(objectBase(req.host))(meme.storage_key) ?? meme.url };
  });

  server.get('/api/stats', { schema: { response: { 200: statsSchema } } }, () => library.stats());

  server.get('/healthz', { schema: { response: { 200: healthSchema, 503: healthSchema } } }, async (_req, reply) => {
    const health = await library.health();
    return reply.code(health.ok ? 200 : 503).send({ ...health, searches: slots.counts() });
  });

  const openapi = JSON.stringify(openApiDocument(settings, VERSION));
  server.get('/api/openapi.json', (_req, reply) => reply.type('application/json; charset=utf-8').send(openapi));
  return { repeat: (text) => cache.lookup(text), requestText };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** What the access log says about a recall. */
    recallSummary?: { results: number; partial: boolean; cache: string };
  }
}
