/**
 * In front of Fastify: a GET /api/recall asked before word for word (the same
 * URL and Host) whose answer is still kept is answered here, before the
 * request is read into Fastify's objects, routed and run through its hooks.
 * Only answers Fastify produced for a request it validated are replayed (the
 * cache's aliases, emptied when the library changes), with the same headers
 * and the same access-log line. Everything else goes to Fastify untouched:
 * another method or path, a request not seen before, a wrong or missing token,
 * a server that is closing. A chat bot asking the same things over and over
 * gets its answer for little more than the cost of writing it (BENCHMARKS.md,
 * "Serve under load").
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Log } from '../ports.js';

/** A recall answer as sent, and what the access log says of it. */
export interface RenderedRecall {
  /** Text, not bytes: a Buffer goes out in two writes (head, body), which measured a third fewer answers a second. */
  body: string;
  bytes: number;
  results: number;
  partial: boolean;
  failed: boolean;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface FrontDoorParts {
  /** The answer kept for this request text (requestText), once the library is known not to have changed. */
  repeat(text: string): Promise<RenderedRecall | undefined>;
  /** The text a GET /api/recall is kept under. */
  requestText(host: string, url: string): string;
  /** Whether the request may read the library (its token, when one is set). */
  allowed(headers: IncomingHttpHeaders): boolean;
  closing(): boolean;
  log: Log;
}

const RECALL = '/api/recall?';

export function recallHeaders(value: RenderedRecall, source: string): Record<string, string | number> {
  return {
    'x-emomo-cache': source,
    'content-type': 'application/json; charset=utf-8',
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    'content-length': value.bytes,
  };
}

export function frontDoor(parts: FrontDoorParts, next: Handler): Handler {
  return (req, res) => {
    const url = req.url ?? '';
    if (req.method !== 'GET' || !url.startsWith(RECALL) || parts.closing() || !parts.allowed(req.headers)) return next(req, res);
    const started = performance.now();
    parts.repeat(parts.requestText(req.headers.host ?? '', url)).then(
      (kept) => {
        if (kept === undefined || parts.closing()) return next(req, res);
        res.writeHead(200, recallHeaders(kept, 'hit'));
        res.end(kept.body);
        parts.log('info', 'request', {
          method: 'GET',
          path: '/api/recall',
          status: 200,
          ms: Math.round((performance.now() - started) * 10) / 10,
          client: req.socket.remoteAddress,
          results: kept.results,
          partial: kept.partial,
          cache: 'hit',
        });
      },
      () => next(req, res),
    );
  };
}
