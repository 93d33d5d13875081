/**
 * The HTTP server of `emomo serve`, on Fastify: schema-validated routes
 * (api-routes, object-routes, page-routes), a bearer token on everything that
 * reads the library when one is set, request and body limits, CORS only for
 * configured origins, and one structured access-log line per request (no
 * query string, no token). Loaded only by `emomo serve`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Library } from '../library/library.js';
import type { Log } from '../ports.js';
import { registerApiRoutes } from './api-routes.js';
import { errorHandler, sendError, validationMessage } from './errors.js';
import { registerObjectRoutes } from './object-routes.js';
import { registerPageRoutes } from './page-routes.js';
import { SearchSlots } from './search-slots.js';
import type { ServeSettings } from './settings.js';

/** Routes that read the library: behind the token when one is set. The page and /healthz hold no library data. */
const PROTECTED = /^\/(api\/(?!openapi\.json)|objects\/)/;
export const TOKEN_COOKIE = 'emomo_token';
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

export async function buildServer(library: Library, settings: ServeSettings, log: Log): Promise<ServerParts> {
  const server = Fastify({
    logger: false,
    bodyLimit: settings.maxBodyBytes,
    requestTimeout: settings.requestTimeoutMs,
    handlerTimeout: settings.requestTimeoutMs,
    // Node looks for requests past their timeout every 30 s by default: a client trickling its
    // request in would hold its connection up to 30 s longer than request_timeout says.
    http: { connectionsCheckingInterval: Math.min(1000, settings.requestTimeoutMs) },
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
  if (settings.token !== undefined) {
    const expected = digest(settings.token);
    server.addHook('onRequest', (req, reply, done) => {
      if (!PROTECTED.test(pathOf(req))) return done();
      const given = bearer(req);
      if (given !== undefined && timingSafeEqual(digest(given), expected)) return done();
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

  registerApiRoutes(server, { library, settings, slots });
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

function bearer(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
  if (match) return match[1]!.trim();
  // The page keeps the token in a cookie so that <img src="/objects/…"> carries it too.
  for (const part of (req.headers.cookie ?? '').split(/;\s*/)) {
    if (!part.startsWith(`${TOKEN_COOKIE}=`)) continue;
    const value = part.slice(TOKEN_COOKIE.length + 1);
    try {
      return decodeURIComponent(value);
    } catch {
      return value; // not percent-encoded as the page writes it: compared as it is (and refused)
    }
  }
  return undefined;
}

/** Fixed-length digests, so comparing them takes the same time whatever the token. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
