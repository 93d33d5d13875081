/**
 * `emomo serve` over a library whose objects live in an S3 bucket (s3rver,
 * driven through the production S3 adapter): without a public_url the
 * images are fetched from the bucket and served with the same headers as
 * local ones; with one, /objects redirects there, recall answers point
 * there, and the page's policy lets it load images from that origin only.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FakeDescriber } from '../helpers/fakes.js';
import { runIngest } from '../helpers/run-ingest.js';
import { startS3Server, useS3Storage, type S3Fixture } from '../helpers/s3-server.js';
import { recallPath, request, startServer, type RunningServer } from '../helpers/serve.js';
import { copySample, makeWorkspace, type Workspace } from '../helpers/workspace.js';

const OFFLINE = 'embeddings:\n  - name: local\n    provider: local\n    dimensions: 512\n    collection: emomo-local\n';
const PUBLIC_URL = 'https://memes.example.com/emomo';

describe('emomo serve with S3 object storage', () => {
  let s3: S3Fixture;
  let ws: Workspace;
  let plain: RunningServer;
  let published: RunningServer;

  before(async () => {
    s3 = await startS3Server();
    ws = makeWorkspace('', OFFLINE);
    useS3Storage(ws, s3);
    copySample(ws, 'sample', 4);
    const run = await runIngest(ws, { source: 'staging:sample' }, { describer: new FakeDescriber() }, undefined, s3.env);
    assert.equal(run.summary.added, 4, run.log);
    plain = await startServer(ws.config, {}, { env: s3.env });
    // The same library with a public URL in front of the bucket (a CDN or R2's public domain).
    const withPublicUrl = path.join(ws.dir, 'public.yaml');
    fs.writeFileSync(withPublicUrl, fs.readFileSync(ws.config, 'utf8').replace('  force_path_style: true\n', `  force_path_style: true\n  public_url: ${PUBLIC_URL}\n`));
    published = await startServer(withPublicUrl, {}, { env: s3.env });
  });
  after(async () => {
    await plain?.close();
    await published?.close();
    await s3?.stop();
    ws?.cleanup();
  });

  /** The staged image a meme was ingested from. */
  const stagedFile = (md5: string) => {
    const folder = path.join(ws.staging, 'sample', 'images');
    const name = fs.readdirSync(folder).find((f) => createHash('md5').update(fs.readFileSync(path.join(folder, f))).digest('hex') === md5);
    assert.ok(name, `a staged image with md5 ${md5}`);
    return path.join(folder, name);
  };

  const firstHit = async (server: RunningServer) => {
    const answer = await request(server.url, recallPath({ q: '熊猫头', mode: 'keyword', top_k: 1 }));
    assert.equal(answer.status, 200, answer.text);
    const [hit] = answer.json.results as Array<{ md5: string; storage_key: string; url: string }>;
    assert.ok(hit, 'the category is found');
    return hit;
  };

  test('no public_url: the image comes from the bucket through /objects, with type, ETag and cache headers', async () => {
    const hit = await firstHit(plain);
    assert.equal(hit.url, `${plain.url}/objects/${hit.storage_key}`);
    const image = await request(plain.url, `/objects/${hit.storage_key}`);
    assert.equal(image.status, 200, image.text);
    const file = stagedFile(hit.md5);
    assert.equal(image.headers['content-type'], file.endsWith('.png') ? 'image/png' : 'image/jpeg');
    assert.equal(image.headers.etag, `"${hit.md5}"`);
    assert.equal(image.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.deepEqual(image.body, fs.readFileSync(file), 'the bytes the bucket holds for the meme');
    assert.equal((await request(plain.url, `/objects/${hit.storage_key}`, { headers: { 'if-none-match': `"${hit.md5}"` } })).status, 304);
  });

  test('with a public_url: /objects redirects there, answers point there, and the page may load images from there only', async () => {
    const hit = await firstHit(published);
    assert.equal(hit.url, `${PUBLIC_URL}/${hit.storage_key}`);
    const meme = await request(published.url, `/api/memes/${hit.md5}`);
    assert.equal(meme.json.url, `${PUBLIC_URL}/${hit.storage_key}`);
    const image = await request(published.url, `/objects/${hit.storage_key}`);
    assert.equal(image.status, 302);
    assert.equal(image.headers.location, `${PUBLIC_URL}/${hit.storage_key}`);
    assert.equal(image.headers.etag, `"${hit.md5}"`);
    assert.equal((await request(published.url, `/objects/${hit.storage_key.slice(0, 3)}${'0'.repeat(32)}.png`)).status, 404, 'unknown keys are not redirected');
    const page = await request(published.url, '/');
    const imgSrc = /img-src ([^;]+)/.exec(String(page.headers['content-security-policy']))?.[1] ?? '';
    assert.deepEqual(imgSrc.split(/\s+/).sort(), ["'self'", 'blob:', 'data:', 'https://memes.example.com'].sort());
  });
});
