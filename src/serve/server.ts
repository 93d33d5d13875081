/**
 * The HTTP server of `emomo serve`, on Fastify: schema-validated routes
 * (api-routes, object-routes, page-routes), a bearer token on everything that
 * reads the library when one is set, request and body limits, CORS only for
 * configured origins, and one structured access-log line per request (no
 * query string, no token). Loaded only by `emomo serve`.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Library } from '../library/library.js';
import type { Log } from '../ports.js';
import { registerApiRoutes } from './api-routes.js';
import { errorHandler, sendError, validationMessage } from './errors.js';
import { frontDoor, type Handler } from './front-door.js';
import { registerObjectRoutes } from './object-routes.js';
import { registerPageRoutes } from './page-routes.js';
import { SearchSlots } from './search-slots.js';
import type { ServeSettings } from './settings.js';
import { bearer, PROTECTED, tokenMatcher } from './token.js';
/** How often refused searches are reported in the log while they go on. */
const OVERLOAD_REPORT_MS = 10_000;

export interface ServerParts {
  server: FastifyInstance;
  slots: SearchSlots;
  /**
   * Stops taking requests and waits for the ones in flight (each ends within
   * the request timeout; a second later, whatever is left is cut off). Their
   * connections close after their answer instead of idling on.
   */
  drain(): Promise<void>;
}

/** Node's default for idle keep-alive connections is 5 s; Fastify's, kept here, 72 s (clients reuse connections). */
const KEEP_ALIVE_MS = 72_000;

export async function buildServer(library: Library, settings: ServeSettings, log: Log): Promise<ServerParts> {
  // Requests reach the front door first (front-door.ts), then Fastify; set once the routes exist.
  let front: Handler | undefined;
  let routed: Handler = () => {};
  const server = Fastify({
    logger: false,
    bodyLimit: settings.maxBodyBytes,
    handlerTimeout: settings.requestTimeoutMs,
    serverFactory: (fastify) => {
      routed = fastify;
      // Node looks for requests past their timeout every 30 s by default: a client trickling its
      // request in would hold its connection up to 30 s longer than request_timeout says.
      return http.createServer(
        { connectionsCheckingInterval: Math.min(1000, settings.requestTimeoutMs), requestTimeout: settings.requestTimeoutMs, keepAliveTimeout: KEEP_ALIVE_MS },
        (req, res) => (front ?? fastify)(req, res),
      );
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Unknown parameters are refused (a typo like `topk` would otherwise be ignored silently).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    schemaErrorFormatter: (errors, dataVar) => new Error(validationMessage(errors, dataVar)),
  });
  const slots = new SearchSlots(settings.maxSearches, settings.maxQueued);
  // Each refusal has its access-log line; while they go on, a warning every 10 s says how many (totals: GET /healthz).
  let told = slots.counts();
  const watch = setInterval(() => {
    const counts = slots.counts();
    if (counts.refused === told.refused && counts.dropped === told.dropped) return;
    log('warn', 'searches refused: more asked than can be answered within serve.request_timeout', {
      refused: counts.refused - told.refused,
      dropped: counts.dropped - told.dropped,
      seconds: OVERLOAD_REPORT_MS / 1000,
      waiting: counts.waiting,
      answer_interval_ms: counts.answer_interval_ms,
    });
    told = counts;
  }, OVERLOAD_REPORT_MS).unref();
  server.addHook('onClose', (_server, done) => {
    clearInterval(watch);
    done();
  });

  server.setErrorHandler(errorHandler(log, library.app.redact));
  server.setNotFoundHandler((req, reply) => sendError(reply, 404, 'not_found', `nothing at ${req.method} ${pathOf(req).slice(0, 120)}`));

  // The hooks below run on every request, thousands a second: plain callbacks, not async functions.
  const tokenOk = settings.token === undefined ? () => true : tokenMatcher(settings.token);
  const allowed = settings.token === undefined ? () => true : (headers: IncomingHttpHeaders) => tokenOk(bearer(headers));
  if (settings.token !== undefined) {
    server.addHook('onRequest', (req, reply, done) => {
      if (!PROTECTED.test(pathOf(req))) return done();
      const given = bearer(req.headers);
      if (tokenOk(given)) return done();
      reply.header('www-authenticate', 'Bearer realm="emomo"');
      sendError(reply, 401, 'unauthorized', given === undefined ? 'a token is required: send "Authorization: Bearer <token>"' : 'wrong token');
    });
  }
  let closing = false;
  server.addHook('onSend', (req, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    reply.header('x-content-type-options', 'nosniff');
    if (req.raw.url?.startsWith('/api/')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
  server.addHook('onResponse', (req, reply, done) => {
    log('info', 'request', {
      method: req.method,
      path: pathOf(req).slice(0, 200),
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      client: req.ip,
      ...(req.recallSummary ?? {}),
    });
    done();
  });

  if (settings.corsOrigins.length > 0) {
    await server.register(cors, {
      origin: settings.corsOrigins.includes('*') ? '*' : settings.corsOrigins,
      methods: ['GET', 'HEAD', 'POST'],
      allowedHeaders: ['authorization', 'content-type'],
      maxAge: 600,
    });
  }
  await server.register(multipart, {
    attachFieldsToBody: 'keyValues',
    limits: { fileSize: settings.maxBodyBytes, files: 1, fields: 20, fieldSize: 4096, parts: 21 },
  });

  const repeats = registerApiRoutes(server, { library, settings, slots });
  front = frontDoor({ ...repeats, allowed, closing: () => closing, log }, (req, res) => routed(req, res));
  registerObjectRoutes(server, library, settings.token !== undefined);
  const storage = library.app.config.storage;
  registerPageRoutes(server, storage.type !== 'local' && storage.publicUrl ? new URL(storage.publicUrl).origin : undefined);
  const drain = async () => {
    closing = true;
    const deadline = setTimeout(() => server.server.closeAllConnections(), settings.requestTimeoutMs + 1000);
    try {
      await server.close();
    } finally {
      clearTimeout(deadline);
    }
  };
  return { server, slots, drain };
}

/** The path without the query string: the query may hold what a user typed, and the log keeps it out. */
function pathOf(req: FastifyRequest): string {
  const url = req.raw.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
