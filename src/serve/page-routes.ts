/**
 * The search page: the static files of src/serve/page/, read once at
 * start-up (no build step, nothing fetched from outside the machine). The
 * page holds no library data, so it needs no token; the API calls it makes do.
 * A Content-Security-Policy keeps it to this server (and to the storage's
 * public URL for images on S3 / R2).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const FILES = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/copy.js': { file: 'copy.js', type: 'text/javascript; charset=utf-8' },
  '/picture.js': { file: 'picture.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
} as const;

/** Next to this module in the sources; the built dist/ reads them from the sources it ships with. */
function pageFolder(): string {
  const candidates = [new URL('./page/', import.meta.url), new URL('../../src/serve/page/', import.meta.url)];
  const found = candidates.find((url) => existsSync(fileURLToPath(new URL('index.html', url))));
  if (!found) throw new Error(`the search page's files are missing (looked in ${candidates.map((c) => fileURLToPath(c)).join(' and ')})`);
  return fileURLToPath(found);
}

export function contentSecurityPolicy(imageOrigin?: string): string {
  const images = ["'self'", 'data:', 'blob:', ...(imageOrigin ? [imageOrigin] : [])].join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src ${images}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function registerPageRoutes(server: FastifyInstance, imageOrigin?: string): void {
  const folder = pageFolder();
  const csp = contentSecurityPolicy(imageOrigin);
  for (const [route, { file, type }] of Object.entries(FILES)) {
    const body = readFileSync(`${folder}${file}`);
    const etag = `"${createHash('sha1').update(body).digest('hex').slice(0, 20)}"`;
    server.get(route, (req, reply) => {
      reply.header('etag', etag).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff');
      if (route === '/') reply.header('content-security-policy', csp).header('referrer-policy', 'no-referrer');
      if (req.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.type(type).send(body);
    });
  }
  // Browsers ask for it; an empty answer keeps the log quiet.
  server.get('/favicon.ico', (_req, reply) => reply.code(204).header('cache-control', 'max-age=86400').send());
}
