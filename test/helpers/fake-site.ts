/**
 * A meme site on 127.0.0.1 modelled on fabiaoqing.com's markup: list pages
 * `/biaoqing/lists/page/{n}.html` with lazily loaded `<img class="ui image
 * lazy" data-original>`, placeholders, duplicates, and every way an image
 * download can go wrong. Every request is logged with its arrival time so
 * tests can count image requests and measure the request rate.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { realImagesDir } from './workspace.js';

export interface LoggedRequest {
  path: string;
  at: number;
  userAgent: string;
}

/** One `<img>` on a list page. */
export interface PageImage {
  /** data-original (or src when `attr` says so); relative, absolute or protocol-relative. */
  url: string;
  alt?: string;
  attr?: 'data-original' | 'data-src' | 'src';
  /** Extra classes/attributes, e.g. a placeholder src. */
  src?: string;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, site: FakeSite) => void;

export interface FakeSiteOptions {
  /** List pages, 1-based; a page past the end has no images. */
  pages: PageImage[][];
  /** Extra routes (path → handler), checked before the built-in ones. */
  routes?: Record<string, Handler>;
  robots?: string | { status: number };
}

export class FakeSite {
  readonly requests: LoggedRequest[] = [];
  /** Bytes the endless image sent before the client hung up. */
  endlessBytesSent = 0;
  endlessClosed = false;
  private server?: http.Server;
  url = '';

  constructor(readonly options: FakeSiteOptions) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Requests for anything but list pages and robots.txt. */
  imageRequests(): LoggedRequest[] {
    return this.requests.filter((r) => !r.path.startsWith('/biaoqing/lists/') && r.path !== '/robots.txt');
  }

  count(p: string): number {
    return this.requests.filter((r) => r.path === p).length;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    this.requests.push({ path: p, at: Date.now(), userAgent: String(req.headers['user-agent'] ?? '') });
    const custom = this.options.routes?.[p];
    if (custom) return custom(req, res, this);
    if (p === '/robots.txt') {
      const robots = this.options.robots;
      if (robots === undefined) return void res.writeHead(404).end('no robots');
      if (typeof robots !== 'string') return void res.writeHead(robots.status).end('');
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end(robots);
    }
    const list = /^\/biaoqing\/lists\/page\/(\d+)\.html$/.exec(p);
    if (list) {
      const images = this.options.pages[Number(list[1]) - 1] ?? [];
      return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(listPage(images));
    }
    res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>404 not found</body></html>');
  }
}

export function listPage(images: PageImage[]): string {
  const items = images
    .map((img, i) => {
      const attr = img.attr ?? 'data-original';
      const alt = img.alt ?? '表情包';
      const src = attr === 'src' ? '' : ` src="${img.src ?? '/Public/lazyload/img/transparent.gif'}"`;
      return `<div class="tagbqppdiv"><a href="/biaoqing/detail/id/${i + 1}.html" title="${alt}">
  <img class="ui image lazy" ${attr}="${img.url}"${src} title="${alt}" alt="${alt}" style="max-height: 188;margin: 0 auto"/></a></div>`;
    })
    .join('\n');
  return `<!DOCTYPE html><html><head><title>最新表情_发表情</title></head><body>
<div class="ui menu"><img class="logo" src="/Public/img/logo.png" alt="发表情"></div>
<div class="ui segment imghover">
${items}
</div>
<img src="/Public/img/icon-weixin.png" alt="icon"></body></html>`;
}

// ------------------------------------------------------------------ images

export interface FixtureImages {
  jpg: Buffer;
  png: Buffer;
  webp: Buffer;
  gif: Buffer;
  /** A small distinct JPEG per index, for sites with many images. */
  jpegs(n: number): Promise<Buffer[]>;
}

async function solid(r: number, g: number, b: number, format: 'jpeg' | 'png' | 'webp'): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 48, channels: 3, background: { r, g, b } } })
    .toFormat(format)
    .toBuffer();
}

export async function fixtureImages(): Promise<FixtureImages> {
  return {
    jpg: await solid(200, 30, 30, 'jpeg'),
    png: await solid(30, 200, 30, 'png'),
    webp: await solid(30, 30, 200, 'webp'),
    gif: fs.readFileSync(path.join(realImagesDir, 'animated-loop-3.gif')),
    jpegs: (n) => Promise.all(Array.from({ length: n }, (_, i) => solid(i % 256, (i * 7) % 256, (i * 13) % 256, 'jpeg'))),
  };
}

export function serve(body: Buffer, type: string): Handler {
  return (_req, res) => void res.writeHead(200, { 'content-type': type, 'content-length': body.length }).end(body);
}

// ------------------------------------------------------------------ the standard fixture

export const MAX_BYTES = 100_000;
export const ROBOTS = 'User-agent: *\nDisallow: /private/\nAllow: /private/ok/\n\nUser-agent: otherbot\nDisallow: /\n';

/**
 * Three list pages: page 1 has the four formats (one protocol-relative, one
 * only in data-src, one in src), a placeholder and a duplicate; page 2 has a
 * duplicate of page 1 and every bad case; page 3 has no images and ends the
 * crawl. Good images: 7 (a.jpg, b.png, c.webp, d.gif, e.jpg via a redirect,
 * busy.png after a 429, ok/f.png allowed by robots).
 */
export async function standardSite(): Promise<FakeSite> {
  const img = await fixtureImages();
  let busyCalls = 0;
  const routes: Record<string, Handler> = {
    '/img/a.jpg': serve(img.jpg, 'image/jpeg'),
    '/img/b.png': serve(img.png, 'image/png'),
    '/img/c.webp': serve(img.webp, 'image/webp'),
    '/img/d.gif': serve(img.gif, 'image/gif'),
    '/img/e.jpg': serve(img.jpg, 'image/jpeg'),
    '/private/ok/f.png': serve(img.png, 'image/png'),
    '/private/secret.jpg': serve(img.jpg, 'image/jpeg'),
    // an HTML error page served as .jpg, with an image content type
    '/img/fake.jpg': serve(Buffer.from('<!DOCTYPE html><html><body>blocked</body></html>'), 'image/jpeg'),
    '/img/slow.jpg': (_req, res) => void setTimeout(() => res.writeHead(200).end(img.jpg), 5_000).unref(),
    '/r/moved.jpg': (_req, res) => void res.writeHead(301, { location: '/img/e.jpg' }).end(),
    '/r/loop-a.jpg': (_req, res) => void res.writeHead(302, { location: '/r/loop-b.jpg' }).end(),
    '/r/loop-b.jpg': (_req, res) => void res.writeHead(302, { location: '/r/loop-a.jpg' }).end(),
    '/r/ftp.jpg': (_req, res) => void res.writeHead(302, { location: 'ftp://127.0.0.1/x.jpg' }).end(),
    '/img/busy.png': (_req, res) => {
      busyCalls++;
      if (busyCalls === 1) return void res.writeHead(429, { 'retry-after': '1' }).end('slow down');
      serve(img.png, 'image/png')(_req, res, undefined as never);
    },
    // A JPEG header then zeros, forever (no content-length): only a cap enforced while reading stops it.
    '/img/endless.jpg': (req, res, site) => {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      const chunk = Buffer.alloc(64 * 1024);
      img.jpg.copy(chunk, 0, 0, 64);
      const pump = () => {
        while (!res.destroyed && site.endlessBytesSent < 1024 ** 3) {
          site.endlessBytesSent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (site.endlessClosed = true));
      pump();
    },
  };
  const site = new FakeSite({
    robots: ROBOTS,
    routes,
    pages: [
      [
        { url: '/img/a.jpg', alt: '熊猫头 我太难了' },
        { url: '/img/b.png', alt: '蘑菇头：好的 收到' },
        { url: '/img/a.jpg', alt: '熊猫头 我太难了' }, // duplicate on the same page
        { url: '/Public/lazyload/img/loading.gif', alt: '加载中' }, // placeholder
        { url: 'PORT_RELATIVE/img/c.webp', alt: '开心' }, // protocol-relative, filled in below
        { url: '/img/d.gif', alt: '金馆长 动图', attr: 'data-src' },
      ],
      [
        { url: '/img/a.jpg', alt: '熊猫头 我太难了' }, // duplicate across pages
        { url: '/img/missing.jpg', alt: '404' },
        { url: '/img/slow.jpg', alt: '慢' },
        { url: '/img/fake.jpg', alt: 'HTML 冒充图片' },
        { url: '/img/endless.jpg', alt: '超大' },
        { url: '/r/loop-a.jpg', alt: '重定向循环' },
        { url: '/r/ftp.jpg', alt: '非 http 重定向' },
        { url: '/r/moved.jpg', alt: '搬家了' },
        { url: '/img/busy.png', alt: '忙' },
        { url: '/private/secret.jpg', alt: '禁止' },
        { url: '/private/ok/f.png', alt: '允许' },
      ],
      [],
    ],
  });
  await site.start();
  // The protocol-relative URL needs the port, known only once listening.
  const host = site.url.replace(/^http:/, '');
  site.options.pages[0]![4]!.url = `${host}/img/c.webp`;
  return site;
}

/** Ids and reasons the standard fixture's bad cases must be skipped for. */
export const STANDARD_SKIPS: Record<string, RegExp> = {
  '/img/missing.jpg': /HTTP 404/,
  '/img/slow.jpg': /timed out/,
  '/img/fake.jpg': /not an image \(HTML\)/,
  '/img/endless.jpg': /too large/,
  '/r/loop-a.jpg': /redirects/,
  '/r/ftp.jpg': /only http and https/,
  '/private/secret.jpg': /robots\.txt/,
};
export const STANDARD_SAVED = ['/img/a.jpg', '/img/b.png', '/img/c.webp', '/img/d.gif', '/r/moved.jpg', '/img/busy.png', '/private/ok/f.png'];
