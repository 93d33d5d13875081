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

/** Where clients fetch an object: the storage's own public URL, else this server's /objects route. */
export function objectUrl(ctx: ApiContext, req: FastifyRequest): (key: string) => string | undefined {
  const storage = ctx.library.app.config.storage;
  if (storage.type !== 'local' && storage.publicUrl) return () => undefined;
  const base = (ctx.settings.publicUrl ?? `${req.protocol}://${req.host}`).replace(/\/+$/, '');
  return (key) => `${base}/objects/${key}`;
}

/** A recall answer as sent: the JSON bytes (image URLs for the asking host) and what the log and the cache need. */
interface RenderedRecall {
  /** Text, not bytes: a Buffer goes out in two writes (head, body), which measured a third fewer answers a second. */
  body: string;
  results: number;
  partial: boolean;
  failed: boolean;
}

function render(result: RecallJson, url: (key: string) => string | undefined): RenderedRecall {
  const answer = { ...result, results: result.results.map((r) => ({ ...r, url: url(r.storage_key) ?? r.url })) };
  return { body: JSON.stringify(answer), results: result.results.length, partial: result.partial, failed: result.failed };
}

export function registerApiRoutes(server: FastifyInstance, ctx: ApiContext): void {
  const { library, settings, slots } = ctx;
  // Answers are kept as the text sent: a hit costs a lookup, not a serialisation.
  const cache = new RecallCache<RenderedRecall>(settings.cacheEntries, () => library.changeMark(), (r) => !r.partial && !r.failed);

  const send = (req: FastifyRequest, reply: FastifyReply, value: RenderedRecall, source: CacheAnswer<RenderedRecall>['source']) => {
    req.recallSummary = { results: value.results, partial: value.partial, cache: source };
    return reply.header('x-emomo-cache', source).type('application/json; charset=utf-8').send(value.body);
  };

  // A GET asked before, word for word and by the same host, was valid then and is answered as then: found by its
  // URL before its parameters are parsed or validated again (the hot path of a chat bot asking the same things).
  const requestText = (req: FastifyRequest) => `${objectUrl(ctx, req)('') ?? ''} ${req.raw.url ?? ''}`;
  const answerRepeat = async (req: FastifyRequest, reply: FastifyReply) => {
    const kept = await cache.lookup(requestText(req));
    if (kept !== undefined) return send(req, reply, kept, 'hit');
  };

  const answerRecall = async (req: FastifyRequest, reply: FastifyReply, params: RecallParams, alias?: string) => {
    const { query, options } = recallOptions(params, settings);
    const url = objectUrl(ctx, req);
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
    { schema: { querystring: recallQuerySchema(settings) }, onRequest: answerRepeat },
    (req, reply) => answerRecall(req, reply, req.query, requestText(req)),
  );
  server.post<{ Body: RecallParams }>('/api/recall', { schema: { body: recallBodySchema(settings) } }, (req, reply) =>
    answerRecall(req, reply, req.body ?? {}),
  );

  server.get<{ Params: { md5: string } }>('/api/memes/:md5', { schema: { response: { 200: memeSchema } } }, async (req) => {
    const meme = await library.meme(req.params.md5);
    if (!meme) throw new NotFoundError(`no meme with md5 ${req.params.md5}`);
    return { ...meme, url: objectUrl(ctx, req)(meme.storage_key) ?? meme.url };
  });

  server.get('/api/stats', { schema: { response: { 200: statsSchema } } }, () => library.stats());

  server.get('/healthz', { schema: { response: { 200: healthSchema, 503: healthSchema } } }, async (_req, reply) => {
    const health = await library.health();
    return reply.code(health.ok ? 200 : 503).send({ ...health, searches: slots.counts() });
  });

  const openapi = JSON.stringify(openApiDocument(settings, VERSION));
  server.get('/api/openapi.json', (_req, reply) => reply.type('application/json; charset=utf-8').send(openapi));
}

declare module 'fastify' {
  interface FastifyRequest {
    /** What the access log says about a recall. */
    recallSummary?: { results: number; partial: boolean; cache: string };
  }
}
