/**
 * `emomo serve`'s HTTP edges over real sockets on 127.0.0.1: no CORS
 * headers unless origins are configured (then those origins only, preflight
 * included), a client that never finishes its request is answered 408 and
 * cut off at request_timeout, a request still waiting for a search slot
 * at request_timeout gets a 503 instead of hanging on, and one that would
 * wait longer than that is refused at once.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { FakeDescriber, FakeEmbedder } from '../helpers/fakes.js';
import { keyEnv, makeRemoteWorkspace } from '../helpers/remote-workspace.js';
import { runIngest } from '../helpers/run-ingest.js';
import { recallPath, request, startServer, type RunningServer } from '../helpers/serve.js';
import { copySample, type Workspace } from '../helpers/workspace.js';

const CHAT = 'https://chat.example.com';

describe('emomo serve: CORS and timeouts', () => {
  let fake: FakeOpenAI;
  let ws: Workspace;
  const env = keyEnv('sk-test-serve-http');
  const servers: RunningServer[] = [];
  const serve = async (settings: Parameters<typeof startServer>[1]) => {
    const server = await startServer(ws.config, settings, { env });
    servers.push(server);
    return server;
  };

  before(async () => {
    fake = await startFakeOpenAI();
    ws = makeRemoteWorkspace(fake, { provider: 'openai', model: 'text-embedding-3-small', dims: 64, retryCount: 0 });
    copySample(ws, 'sample', 8);
    const run = await runIngest(ws, { source: 'staging:sample' }, { describer: new FakeDescriber(), embedder: () => new FakeEmbedder(64) });
    assert.equal(run.summary.added, 8, run.log);
  });
  after(async () => {
    for (const server of servers) await server.close();
    await fake?.close();
    ws?.cleanup();
  });

  const keyword = recallPath({ q: '熊猫头', mode: 'keyword', top_k: 2 });
  const preflight = (base: string, origin: string) =>
    request(base, '/api/recall', {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });

  test('no CORS unless configured: a page on another origin gets no CORS header, and no preflight succeeds', async () => {
    const { url } = await serve({});
    const answer = await request(url, keyword, { headers: { origin: CHAT } });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['access-control-allow-origin'], undefined);
    const options = await preflight(url, CHAT);
    assert.equal(options.headers['access-control-allow-origin'], undefined);
    assert.equal(options.headers['access-control-allow-methods'], undefined);
  });

  test('configured origins: those origins may call the API (preflight with the Authorization header too); others may not', async () => {
    const { url } = await serve({ corsOrigins: [CHAT] });
    const answer = await request(url, keyword, { headers: { origin: CHAT } });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['access-control-allow-origin'], CHAT);
    const options = await preflight(url, CHAT);
    assert.equal(options.status, 204);
    assert.equal(options.headers['access-control-allow-origin'], CHAT);
    assert.match(String(options.headers['access-control-allow-headers']), /authorization/);
    assert.match(String(options.headers['access-control-allow-methods']), /POST/);

    const other = await request(url, keyword, { headers: { origin: 'https://evil.example.net' } });
    assert.equal(other.status, 200, 'answered, but the browser keeps it from the other page');
    assert.ok([undefined, 'false'].includes(other.headers['access-control-allow-origin'] as string | undefined), String(other.headers['access-control-allow-origin']));
    assert.ok([undefined, 'false'].includes((await preflight(url, 'https://evil.example.net')).headers['access-control-allow-origin'] as string | undefined));
  });

  test('a client that never finishes its request is answered 408 and disconnected at request_timeout', async () => {
    const { url } = await serve({ requestTimeoutMs: 1000 });
    const { port } = new URL(url);
    const started = performance.now();
    const { answer, closedAfter } = await new Promise<{ answer: string; closedAfter: number }>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.write('GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '));
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
      socket.on('close', () => resolve({ answer, closedAfter: performance.now() - started }));
      socket.on('error', reject);
      setTimeout(() => (socket.destroy(), reject(new Error(`still connected after 8 s; got ${JSON.stringify(answer)}`))), 8000).unref();
    });
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.ok(closedAfter >= 950 && closedAfter < 3500, `disconnected after ${closedAfter.toFixed(0)} ms`);
  });

  test('a request still waiting for a search slot at request_timeout gets a 503, and the server answers again afterwards', async () => {
    const server = await serve({ requestTimeoutMs: 2500, maxSearches: 1, maxQueued: 4 });
    fake.setFaults({ embeddings: () => ({ hang: true }) });
    try {
      // The first holds the only slot for its whole 1.5 s budget; the second waits for it, then needs 1.5 s more.
      const first = request(server.url, recallPath({ q: '开心', timeout: '1500ms' }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = performance.now();
      const second = await request(server.url, recallPath({ q: '无语', timeout: '1500ms' }));
      const elapsed = performance.now() - started;
      assert.equal(second.status, 503, second.text);
      assert.equal(second.json.error.code, 'unavailable');
      assert.match(second.json.error.message, /longer than serve\.request_timeout/);
      assert.ok(elapsed >= 2300 && elapsed < 4500, `answered after ${elapsed.toFixed(0)} ms`);
      const firstAnswer = await first;
      assert.equal(firstAnswer.status, 200, firstAnswer.text);
    } finally {
      fake.setFaults({});
    }
    const after = await request(server.url, keyword);
    assert.equal(after.status, 200, `no timeout given: the default budget shrinks to fit request_timeout; ${after.text}`);
    assert.match(server.log(), /path=\/api\/recall status=503/);
  });

  test('more searches than can be answered in time: refused at once with 503 and Retry-After, the late ones never searched', async () => {
    const server = await serve({ requestTimeoutMs: 2000, maxSearches: 1, maxQueued: 50 });
    fake.setLatency({ embeddings: 250 }); // every hybrid search waits 250 ms for its query embedding
    try {
      assert.equal((await request(server.url, recallPath({ q: '熊猫头' }))).status, 200, 'the provider client is loaded');
      const embeddingsBefore = fake.count('embeddings');
      const line = Array.from({ length: 16 }, (_, i) => request(server.url, recallPath({ q: `开心${i}`, timeout: '1s' })));
      // Two answers while others wait: the server knows how fast the line moves (about 250 ms an answer; 4 s for the line).
      while ((await request(server.url, '/healthz')).json.searches.answer_interval_ms === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      const started = performance.now();
      const refused = await request(server.url, recallPath({ q: '无语', timeout: '1s' }));
      const waited = performance.now() - started;
      assert.equal(refused.status, 503, refused.text);
      assert.equal(refused.json.error.code, 'overloaded');
      assert.match(refused.json.error.message, /would not be answered within serve\.request_timeout/);
      assert.ok(Number(refused.headers['retry-after']) >= 1, `Retry-After ${refused.headers['retry-after']}`);
      assert.ok(waited < 500, `refused after ${waited.toFixed(0)} ms, not at the end of the line`);

      const statuses = (await Promise.all(line)).map((a) => a.status);
      assert.ok(statuses.filter((s) => s === 200).length >= 2, statuses.join(' '));
      assert.ok(statuses.includes(503), `the end of the line ran out of time: ${statuses.join(' ')}`);
      let searches = (await request(server.url, '/healthz')).json.searches;
      // Searches whose requests were answered 503 leave the line when their turn comes, without being run.
      while (searches.running + searches.waiting > 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        searches = (await request(server.url, '/healthz')).json.searches;
      }
      assert.ok(searches.refused >= 1 && searches.dropped >= 1, JSON.stringify(searches));
      assert.ok(searches.answer_interval_ms >= 200, JSON.stringify(searches));
      const searched = fake.count('embeddings') - embeddingsBefore;
      assert.ok(searched < 16, `${searched} query embeddings for 16 requests in line: the late ones were not searched`);
      assert.match(server.log(), /path=\/api\/recall status=503/);
    } finally {
      fake.setLatency({});
    }
  });
});

