/**
 * `emomo serve`'s API over real HTTP on 127.0.0.1, on part of the sample set
 * ingested with the offline defaults (OCR describer, lexical embedder):
 * every endpoint, filters, the same results as `recall --json`, search by
 * an uploaded picture (the offline picture signature), 400s that
 * say what is wrong, objects with their headers and no way out of the object
 * folder, and an ingest beside the server that it sees without a restart.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { runEmbed } from '../helpers/maintenance.js';
import { sampleEntries } from '../helpers/picture-variants.js';
import { recallInProcess, RecallJson } from '../helpers/recall-json.js';
import { runIngest } from '../helpers/run-ingest.js';
import { postJson, recallPath, request, startServer, type RunningServer } from '../helpers/serve.js';
import { copySample, makeWorkspace, sampleDir, type Workspace } from '../helpers/workspace.js';

const OFFLINE =
  'embeddings:\n  - name: local\n    provider: local\n    dimensions: 512\n    collection: emomo-local\n' +
  '  - name: pictures\n    provider: local\n    input: image\n    dimensions: 192\n    collection: pictures\n';

describe('emomo serve: the API', () => {
  let ws: Workspace;
  let server: RunningServer;
  let url: string;

  before(async () => {
    ws = makeWorkspace('', OFFLINE);
    copySample(ws, 'sample', 12);
    const run = await runIngest(ws, { source: 'staging:sample' });
    assert.equal(run.summary.added, 12, run.log);
    const embed = await runEmbed(ws, 'pictures');
    assert.equal(embed.report.embedded, 12, embed.log);
    server = await startServer(ws.config, { maxBodyBytes: 64 * 1024 });
    url = server.url;
  });
  after(async () => {
    await server?.close();
    ws?.cleanup();
  });

  const get = (path: string, headers?: Record<string, string>) => request(url, path, { headers });
  const recall = async (params: Record<string, string | number | boolean | string[]>) => {
    const answer = await get(recallPath(params));
    assert.equal(answer.status, 200, answer.text);
    return RecallJson.parse(answer.json);
  };

  test('GET /api/recall: the shape and results of recall --json, image URLs on this server', async () => {
    const answer = await get(recallPath({ q: '我太难了', top_k: 5 }));
    assert.equal(answer.status, 200);
    assert.match(String(answer.headers['content-type']), /^application\/json/);
    assert.equal(answer.headers['cache-control'], 'no-store');
    const json = RecallJson.parse(answer.json);
    assert.equal(json.results[0]?.ocr_text, '我太难了');
    assert.equal(json.partial, false);
    for (const r of json.results) assert.equal(r.url, `${url}/objects/${r.storage_key}`);
    const cli = await recallInProcess(ws.config, '我太难了', { topK: 5 });
    assert.deepEqual(json.results.map((r) => r.md5), cli.json.results.map((r) => r.md5));
    assert.deepEqual(json.terms, cli.json.terms);
  });

  test('filters: tag (all of them), category, animated, source, mode and top_k hold on every result', async () => {
    const tagged = await recall({ q: '开心', tag: ['开心', '柴犬'], mode: 'keyword', top_k: 10 });
    assert.ok(tagged.results.length > 0);
    for (const r of tagged.results) assert.ok(r.tags.includes('开心') && r.tags.includes('柴犬'), r.tags.join());
    const cats = await recall({ q: '开心', category: '猫猫' });
    assert.ok(cats.results.length > 0);
    for (const r of cats.results) assert.equal(r.category, '猫猫');
    const animated = await recall({ q: '开心', animated: true });
    assert.ok(animated.results.length > 0);
    for (const r of animated.results) assert.equal(r.is_animated, true);
    for (const r of (await recall({ q: '开心', animated: false })).results) assert.equal(r.is_animated, false);
    assert.ok((await recall({ q: '开心', source: 'staging:sample' })).results.length > 0);
    assert.equal((await recall({ q: '开心', source: 'staging:elsewhere' })).results.length, 0);
    const vector = await recall({ q: '开心', mode: 'vector', top_k: 3 });
    assert.equal(vector.mode, 'vector');
    assert.equal(vector.results.length, 3);
    assert.ok(vector.results.every((r) => r.scores.keyword === null));
  });

  test('POST /api/recall: JSON and multipart fields give what GET gives', async () => {
    const params = { q: '开心', tag: ['开心'], top_k: 4, mode: 'hybrid' };
    const viaGet = await recall(params);
    const viaJson = await postJson(url, '/api/recall', params);
    assert.equal(viaJson.status, 200, viaJson.text);
    assert.deepEqual(RecallJson.parse(viaJson.json).results.map((r) => r.md5), viaGet.results.map((r) => r.md5));
    const form = new FormData();
    form.append('q', '开心');
    form.append('tag', '开心');
    form.append('top_k', '4');
    const viaForm = await fetch(`${url}/api/recall`, { method: 'POST', body: form });
    assert.equal(viaForm.status, 200);
    assert.deepEqual(RecallJson.parse(await viaForm.json()).results.map((r) => r.md5), viaGet.results.map((r) => r.md5));
  });

  test('an uploaded image (base64 JSON or a multipart file) is searched by picture, alone or with text', async () => {
    const entry = sampleEntries()[3]!;
    const png = await sharp(path.join(sampleDir, 'images', entry.filename), { pages: 1 }).resize({ width: 120 }).png().toBuffer();
    const md5 = (await recall({ q: entry.caption, mode: 'keyword', top_k: 1 })).results[0]!.md5;
    const json = await postJson(url, '/api/recall', { image: `data:image/png;base64,${png.toString('base64')}`, top_k: 3 });
    assert.equal(json.status, 200, json.text);
    const byPicture = RecallJson.parse(json.json);
    assert.deepEqual([byPicture.picture, byPicture.collection, byPicture.results[0]!.md5], [true, 'pictures', md5]);
    assert.ok(byPicture.results[0]!.scores.image! > 0.9);

    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'query.png');
    form.append('q', entry.caption);
    form.append('category', entry.category);
    const multipart = await fetch(`${url}/api/recall`, { method: 'POST', body: form });
    assert.equal(multipart.status, 200);
    const mixed = RecallJson.parse(await multipart.json());
    assert.equal(mixed.results[0]!.md5, md5);
    assert.ok(mixed.results.every((r) => r.category === entry.category));
    assert.ok(mixed.results[0]!.explain.image_rank !== null && mixed.results[0]!.explain.keyword_rank !== null);
    assert.equal(multipart.headers.get('x-emomo-cache'), 'miss', 'a picture is never cached');

    const textSide = await postJson(url, '/api/recall', { image: png.toString('base64'), embedding: 'local' });
    assert.equal(textSide.status, 400);
    assert.match(textSide.json.error.message, /input: image; "local" embeds text/);
    const notPicture = await postJson(url, '/api/recall', { image: Buffer.from('plain text').toString('base64') });
    assert.equal(notPicture.status, 400);
    assert.match(notPicture.json.error.message, /^image: /);
    const bad = await postJson(url, '/api/recall', { image: 'not base64!' });
    assert.match(bad.json.error.message, /image must be base64/);
  });

  test('bad parameters: 400 with a message naming the parameter', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/api/recall', /q is required/],
      ['/api/recall?q=', /q is empty/],
      [recallPath({ q: 'x'.repeat(201) }), /q must NOT have more than 200 characters/],
      [recallPath({ q: '开心', top_k: 101 }), /top_k must be <= 100/],
      [recallPath({ q: '开心', top_k: 0 }), /top_k must be >= 1/],
      [recallPath({ q: '开心', top_k: 'ten' }), /top_k must be integer/],
      [recallPath({ q: '开心', topk: 3 }), /unknown parameter "topk"/],
      [recallPath({ q: '开心', mode: 'fuzzy' }), /mode must be one of hybrid, vector, keyword/],
      [recallPath({ q: '开心', threshold: 2 }), /threshold must be <= 1/],
      [recallPath({ q: '开心', animated: 'maybe' }), /animated must be boolean/],
      [recallPath({ q: '开心', timeout: 'soon' }), /timeout: invalid duration "soon"/],
      [recallPath({ q: '开心', timeout: '1h' }), /timeout must be at most 9000 ms/],
      [recallPath({ q: '开心', embedding: 'nope' }), /nope/],
      ['/api/memes/not-an-md5', /md5 must be 32 lowercase hex digits/],
    ];
    for (const [path, message] of cases) {
      const answer = await get(path);
      assert.equal(answer.status, 400, `${path}: ${answer.text}`);
      assert.equal(answer.json.error.code, 'bad_request');
      assert.match(answer.json.error.message, message, path);
    }
    const notJson = await request(url, '/api/recall', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"q": ' });
    assert.equal(notJson.status, 400);
    const tooBig = await postJson(url, '/api/recall', { q: '开心', image: 'A'.repeat(70 * 1024) });
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.json.error.code, 'too_large');
  });

  test('GET /api/memes/{md5}: description, OCR text, tags and sources; 404 for an unknown md5', async () => {
    const [first] = (await recall({ q: '我太难了', top_k: 1 })).results;
    const answer = await get(`/api/memes/${first!.md5}`);
    assert.equal(answer.status, 200);
    const meme = answer.json;
    assert.equal(meme.md5, first!.md5);
    assert.equal(meme.ocr_text, '我太难了');
    assert.deepEqual(meme.tags, ['熊猫头', '无奈', '难过']);
    assert.equal(meme.category, '熊猫头');
    assert.deepEqual(meme.sources, [{ source_type: 'staging:sample', source_id: 's001', source_url: 'https://example.com/sample/s001' }]);
    assert.equal(meme.url, `${url}/objects/${meme.storage_key}`);
    assert.ok(meme.description.length > 0 && meme.width > 0 && meme.described_by.vlm_model);
    const missing = await get(`/api/memes/${'0'.repeat(32)}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, 'not_found');
  });

  test('/api/stats, /healthz and /api/openapi.json', async () => {
    const stats = await get('/api/stats');
    assert.equal(stats.status, 200);
    assert.equal(stats.json.storage.memes, 12);
    assert.deepEqual(stats.json.collections.map((c: { collection: string }) => c.collection), ['emomo-local', 'pictures']);
    const health = await get('/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(
      { ok: health.json.ok, degraded: health.json.degraded, memes: health.json.library.memes, circuit: health.json.providers[0].circuit },
      { ok: true, degraded: false, memes: 12, circuit: null },
    );
    const spec = await get('/api/openapi.json');
    assert.equal(spec.status, 200);
    assert.equal(spec.json.openapi, '3.1.0');
    assert.deepEqual(Object.keys(spec.json.paths).sort(), ['/api/memes/{md5}', '/api/recall', '/api/stats', '/healthz', '/objects/{shard}/{file}']);
    const names = spec.json.paths['/api/recall'].get.parameters.map((p: { name: string }) => p.name);
    for (const name of ['q', 'tag', 'category', 'animated', 'source', 'mode', 'top_k', 'threshold', 'timeout']) assert.ok(names.includes(name), name);
    // The documented answer is the one sent, field for field.
    const schema = spec.json.components.schemas.Recall;
    const answer = (await get(recallPath({ q: '开心', top_k: 1 }))).json;
    assert.deepEqual(Object.keys(answer).sort(), [...schema.required].sort());
    assert.deepEqual(Object.keys(answer.results[0]).sort(), [...schema.properties.results.items.required].sort());
    assert.deepEqual(Object.keys(answer.results[0].explain).sort(), [...schema.properties.results.items.properties.explain.required].sort());
  });

  test('/objects: bytes with content type, md5 ETag and cache headers; 304 on a match; nothing outside the library', async () => {
    const [hit] = (await recall({ q: '我太难了', top_k: 1 })).results;
    const path = `/objects/${hit!.storage_key}`;
    const image = await get(path);
    assert.equal(image.status, 200);
    assert.equal(image.headers['content-type'], 'image/png');
    assert.equal(image.headers.etag, `"${hit!.md5}"`);
    assert.equal(image.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.deepEqual(image.body.subarray(0, 4), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const again = await get(path, { 'if-none-match': `"${hit!.md5}"` });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    const attempts = [
      '/objects/../../etc/passwd',
      '/objects/%2e%2e/%2e%2e/etc/passwd',
      `/objects/${hit!.storage_key.slice(0, 2)}/..%2f..%2f..%2fetc%2fpasswd`,
      '/objects/..%2f..%2femomo.db',
      `/objects/${hit!.storage_key}/..`,
      `/objects/${hit!.storage_key.toUpperCase()}`,
      `/objects/${hit!.md5.slice(0, 2)}/${hit!.md5}.jpg`,
      `/objects/00/${'0'.repeat(32)}.png`,
      '/objects/',
      '/objects/%00',
      '/../emomo.db',
    ];
    for (const attempt of attempts) {
      const answer = await get(attempt);
      assert.equal(answer.status, 404, `${attempt}: ${answer.status} ${answer.text.slice(0, 100)}`);
      assert.ok(!answer.text.includes('SQLite'), attempt);
    }
  });

  test('the page and its files are served with a policy that keeps it on this server', async () => {
    const page = await get('/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    assert.ok(!/https?:\/\//.test(page.text), 'the page names no other site');
    for (const file of ['/app.js', '/style.css']) {
      const answer = await get(file);
      assert.equal(answer.status, 200, file);
      assert.ok(!/(src|href|url)\(?\s*=?\s*["']?https?:/i.test(answer.text), `${file} loads nothing from elsewhere`);
    }
  });

  test('the access log: one line per request, without the query string', async () => {
    await get(recallPath({ q: '一句私密的话', top_k: 2 }));
    const lines = server.log().split('\n').filter((l) => l.includes('msg="request"'));
    const line = lines.find((l) => l.includes('path=/api/recall') && l.includes('results='));
    assert.ok(line, server.log().slice(-500));
    assert.match(line, /method=GET path=\/api\/recall status=200 ms=[\d.]+ client=127\.0\.0\.1 results=\d+ partial=false cache=/);
    assert.ok(!server.log().includes('私密'), 'the query text is not logged');
  });

  test('a repeated request is answered from the cache as it was the first time; another host gets its own image URLs', async () => {
    const path = recallPath({ q: '打工人', top_k: 4, mode: 'keyword' });
    const first = await get(path);
    const second = await get(path);
    const reordered = await get(recallPath({ mode: 'keyword', top_k: 4, q: '打工人' }));
    assert.equal(first.headers['x-emomo-cache'], 'miss');
    for (const answer of [second, reordered]) {
      assert.equal(answer.headers['x-emomo-cache'], 'hit');
      assert.equal(answer.text, first.text);
      const { date: _d1, 'x-emomo-cache': _c1, ...headers } = answer.headers;
      const { date: _d2, 'x-emomo-cache': _c2, ...firstHeaders } = first.headers;
      assert.deepEqual(headers, firstHeaders);
    }
    assert.match(server.log(), /method=GET path=\/api\/recall status=200 ms=[\d.]+ client=127\.0\.0\.1 results=\d+ partial=false cache=hit/, 'a hit has its access-log line');
    const elsewhere = await get(path, { host: 'memes.example:8787' });
    assert.equal(elsewhere.headers['x-emomo-cache'], 'miss', 'the image URLs differ by host: not the same answer');
    assert.match(RecallJson.parse(elsewhere.json).results[0]!.url, /^http:\/\/memes\.example:8787\/objects\//);
    assert.equal((await get(path, { host: 'memes.example:8787' })).text, elsewhere.text);
    const invalid = recallPath({ q: '打工人', top_k: 1000 });
    for (let i = 0; i < 2; i++) assert.equal((await get(invalid)).status, 400, 'an invalid request is refused every time');
  });

  test('a repeated query comes from the cache; an ingest beside the server is not disturbed and shows up without a restart', async () => {
    const first = await get(recallPath({ q: '干饭', top_k: 3 }));
    const second = await get(recallPath({ q: '干饭', top_k: 3 }));
    assert.deepEqual([first.headers['x-emomo-cache'], second.headers['x-emomo-cache']], ['miss', 'hit']);
    assert.notEqual(RecallJson.parse(second.json).results[0]?.ocr_text, '干饭', 'not ingested yet');

    // The next four sample memes (干饭 among them), ingested while the server keeps answering.
    copySample(ws, 'more', 16);
    let answered = 0;
    let stop = false;
    const failures: string[] = [];
    const load = (async () => {
      while (!stop) {
        const answer = await get(recallPath({ q: answered % 2 ? '开心' : '打工人', top_k: 5 }));
        if (answer.status !== 200) failures.push(`${answer.status} ${answer.text}`);
        answered++;
      }
    })();
    const run = await runIngest(ws, { source: 'staging:more' });
    stop = true;
    await load;
    assert.deepEqual([run.summary.added, run.summary.failed], [4, 0], run.log);
    assert.deepEqual(failures, []);
    assert.ok(answered > 0);

    const after = await get(recallPath({ q: '干饭', top_k: 3 }));
    assert.equal(after.headers['x-emomo-cache'], 'miss', 'the library changed: the cached answer is gone');
    const json = RecallJson.parse(after.json);
    assert.equal(json.results[0]?.ocr_text, '干饭');
    const image = await get(new URL(json.results[0]!.url).pathname);
    assert.equal(image.status, 200);
    assert.equal((await get('/api/stats')).json.storage.memes, 16);
  });
});

