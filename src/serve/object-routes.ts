/**
 * GET /objects/{md5[0:2]}/{md5}.{ext}: a meme's image. Only keys of that
 * exact form that a meme of the library refers to are served (anything else,
 * `..` and encoded slashes included, is a 404 before storage is touched).
 * Local storage: the bytes, with their content type, the md5 as ETag and
 * long cache headers (a key's content never changes). S3 / R2 with a
 * public_url: a redirect there; without one, the bytes fetched from the bucket.
 */
import type { FastifyInstance } from 'fastify';
import type { Library } from '../library/library.js';
import { NotFoundError } from './errors.js';

const YEAR_SECONDS = 365 * 24 * 3600;

export function registerObjectRoutes(server: FastifyInstance, library: Library, tokenRequired: boolean): void {
  // Shared caches must not keep what only token holders may see.
  const cacheControl = `${tokenRequired ? 'private' : 'public'}, max-age=${YEAR_SECONDS}, immutable`;

  server.get<{ Params: { '*': string } }>('/objects/*', async (req, reply) => {
    const key = req.params['*'];
    const object = await library.object(key);
    if (!object) throw new NotFoundError(`no image under /objects/${key.slice(0, 80)}`);
    const cached = { etag: `"${object.md5}"`, 'cache-control': cacheControl };
    if (object.kind === 'redirect') return reply.headers(cached).redirect(object.url, 302);
    if (req.headers['if-none-match']?.split(/\s*,\s*/).includes(cached.etag)) return reply.headers(cached).code(304).send();
    const bytes = await object.read();
    if (!bytes) throw new NotFoundError(`the image of /objects/${key} is missing from storage (emomo verify reports it)`);
    return reply.headers(cached).type(object.contentType).header('x-content-type-options', 'nosniff').send(bytes);
  });
}
