/**
 * How the server answers what went wrong: one JSON shape,
 * `{"error": {"code", "message"}}`, with a status that says whose problem it
 * is. Validation messages name the parameter; unexpected errors are logged
 * (redacted) and answered without their details.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError, DimensionMismatchError, EmomoError, errorMessage, UsageError } from '../errors.js';
import type { Log } from '../ports.js';
import { BusyError, LateError, OverloadedError } from './search-slots.js';

export class NotFoundError extends EmomoError {
  override name = 'NotFoundError';
}

export type ErrorCode = 'bad_request' | 'unauthorized' | 'not_found' | 'too_large' | 'busy' | 'overloaded' | 'unavailable' | 'internal';

export function sendError(reply: FastifyReply, status: number, code: ErrorCode, message: string) {
  return reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message } });
}

/** Ajv's errors as one sentence naming the parameter: "top_k must be <= 100", "unknown parameter "topk"". */
export function validationMessage(errors: ReadonlyArray<{ instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }>, dataVar: string): string {
  const e = errors[0];
  if (!e) return `invalid ${dataVar}`;
  const field = e.instancePath.replace(/^\//, '').replace(/\/(\d+)$/, '[$1]').replaceAll('/', '.');
  if (e.keyword === 'required') {
    const missing = String(e.params.missingProperty);
    return missing === 'q' ? 'q is required: say what to look for, e.g. ?q=我太难了' : `${missing} is required`;
  }
  if (e.keyword === 'additionalProperties') return `unknown parameter "${String(e.params.additionalProperty)}" (see /api/openapi.json)`;
  if (e.keyword === 'minLength' && e.params.limit === 1) return `${field} is empty`;
  if (e.keyword === 'enum') return `${field} must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`;
  return `${field || dataVar} ${e.message ?? 'is invalid'}`;
}

export function errorHandler(log: Log, redact: (text: string) => string) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof BusyError) {
      reply.header('retry-after', String(err.retryAfterSeconds));
      return sendError(reply, 429, 'busy', err.message);
    }
    if (err instanceof OverloadedError) {
      reply.header('retry-after', String(err.retryAfterSeconds));
      return sendError(reply, 503, 'overloaded', err.message);
    }
    if (err instanceof LateError) return sendError(reply, 503, 'unavailable', err.message);
    if (err instanceof NotFoundError) return sendError(reply, 404, 'not_found', err.message);
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof DimensionMismatchError) {
      return sendError(reply, 400, 'bad_request', redact(err.message));
    }
    if (err.validation) return sendError(reply, 400, 'bad_request', err.message);
    if (err.code === 'FST_ERR_HANDLER_TIMEOUT') return sendError(reply, 503, 'unavailable', 'the request took longer than serve.request_timeout');
    const status = err.statusCode ?? 500;
    if (status === 413) return sendError(reply, 413, 'too_large', err.message);
    if (status >= 400 && status < 500) return sendError(reply, status, 'bad_request', err.message);
    log('error', 'request failed', { method: req.method, path: req.routeOptions.url ?? 'unknown', error: redact(errorMessage(err)) });
    return sendError(reply, 500, 'internal', 'the server failed to answer; its log says why');
  };
}
