/**
 * The OpenAPI 3.1 description served at /api/openapi.json, built from the
 * same schemas the routes validate and serialise with, so it cannot drift
 * from what the server does.
 */
import { recallBodySchema, recallQuerySchema } from './recall-params.js';
import { errorSchema, healthSchema, memeSchema, recallSchema, statsSchema } from './schemas.js';
import type { ServeSettings } from './settings.js';

const json = (schema: unknown) => ({ 'application/json': { schema } });
const error = (description: string) => ({ description, content: json({ $ref: '#/components/schemas/Error' }) });

/** GET parameters from the query-string schema: one `in: query` parameter per property. */
function queryParameters(schema: ReturnType<typeof recallQuerySchema>) {
  return Object.entries(schema.properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: schema.required.includes(name),
    ...(name === 'tag' ? { style: 'form', explode: true } : {}),
    description: (property as { description?: string }).description,
    schema: property,
  }));
}

export function openApiDocument(s: ServeSettings, version: string) {
  const secured = s.token !== undefined;
  const recallAnswers = {
    200: { description: 'Results, possibly partial (see `partial` and `reason`); never an error for a slow or failing provider', content: json({ $ref: '#/components/schemas/Recall' }) },
    400: error('A parameter is missing or out of range; the message says which'),
    ...(secured ? { 401: error('No token, or a wrong one') } : {}),
    413: error('The body is larger than serve.max_body'),
    429: error('Every search slot is busy and the queue is full; retry after the Retry-After header'),
    503: error(
      'overloaded: the searches already waiting would not be answered within serve.request_timeout (refused at once; retry after the Retry-After header); ' +
        'unavailable: the request took longer than serve.request_timeout, or the server is shutting down',
    ),
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'emomo',
      version,
      description: 'Recall over a library of meme images (表情包): the same results as `emomo recall --json`. See docs/serve.md.',
    },
    ...(secured ? { security: [{ bearer: [] }] } : {}),
    paths: {
      '/api/recall': {
        get: {
          summary: 'Search the library',
          operationId: 'recall',
          parameters: queryParameters(recallQuerySchema(s)),
          responses: recallAnswers,
        },
        post: {
          summary: 'Search the library (JSON body, or multipart/form-data with an image)',
          operationId: 'recallPost',
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: recallBodySchema(s) },
              'multipart/form-data': { schema: recallBodySchema(s) },
            },
          },
          responses: recallAnswers,
        },
      },
      '/api/memes/{md5}': {
        get: {
          summary: 'One meme with its description, OCR text, tags and sources',
          operationId: 'meme',
          parameters: [{ name: 'md5', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{32}$' } }],
          responses: { 200: { description: 'The meme', content: json(memeSchema) }, 400: error('Not an md5'), 404: error('No such meme') },
        },
      },
      '/api/stats': {
        get: { summary: 'What the library holds', operationId: 'stats', responses: { 200: { description: 'Counts', content: json(statsSchema) } } },
      },
      '/healthz': {
        get: {
          summary: 'Whether the library answers, and each embedding provider\'s circuit (no token needed)',
          operationId: 'health',
          security: [],
          responses: { 200: { description: 'Healthy', content: json(healthSchema) }, 503: { description: 'The library does not answer', content: json(healthSchema) } },
        },
      },
      '/objects/{shard}/{file}': {
        get: {
          summary: 'The image bytes (local storage) or a redirect to S3 / R2 public_url; ETag is the md5',
          operationId: 'object',
          parameters: [
            { name: 'shard', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{2}$' } },
            { name: 'file', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{32}\\.[a-z0-9]{2,5}$' } },
          ],
          responses: {
            200: { description: 'The image', content: { 'image/*': { schema: { type: 'string', format: 'binary' } } } },
            302: { description: 'Published at the storage\'s public URL' },
            304: { description: 'Not modified (If-None-Match)' },
            404: error('No meme has this object key'),
          },
        },
      },
    },
    components: {
      schemas: { Recall: recallSchema, Error: errorSchema },
      ...(secured ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The token given to `emomo serve` (--token or EMOMO_SERVE_TOKEN)' } } } : {}),
    },
  };
}
