/**
 * `emomo serve` with a remote embedding provider that misbehaves (the fake
 * OpenAI server on 127.0.0.1, the real client and provider gate): a hanging
 * provider gives keyword results marked partial within the time budget,
 * never a 5xx; a partial answer is not cached; searches beyond the slots and
 * the queue get 429 with Retry-After; /healthz shows the circuit open, and
 * recall comes back complete once the provider does, even after its circuit
 * stopped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { FakeDescriber, FakeEmbedder } from '../helpers/fakes.js';
import { RecallJson } from '../helpers/recall-json.js';
import { keyEnv, makeRemoteWorkspace } from '../helpers/remote-workspace.js';
import { runIngest } from '../helpers/run-ingest.js';
import { recallPath, request, startServer, type RunningServer } from '../helpers/serve.js';
import { copySample, type Workspace } from '../helpers/workspace.js';

const KEY = 'sk-test-serve-provider';

describe('emomo serve with a failing embedding provider', () => {
  let fake: FakeOpenAI;
  let ws: Workspace;
  let server: RunningServer;
  const env = keyEnv(KEY);

  before(async () => {
    fake = await startFakeOpenAI();
    // No retries inside one search, a short probe interval and outage limit: the circuit moves within the test.
    ws = makeRemoteWorkspace(fake, { provider: 'openai', model: 'text-embedding-3-small', dims: 64, retryCount: 0, probeInterval: '1s', maxOutage: '2s' });
    copySample(ws, 'sample', 16);
    // The library is built with in-process fakes; only the query embedding goes over HTTP.
    const run = await runIngest(ws, { source: 'staging:sample' }, { describer: new FakeDescriber(), embedder: () => new FakeEmbedder(64) });
    assert.equal(run.summary.added, 16, run.log);
    server = await startServer(ws.config, { maxSearches: 1, maxQueued: 0 }, { env });
  });
  after(async () => {
    await server?.close();
    await fake?.close();
    ws?.cleanup();
  });

  const get = (params: Record<string, string | number>) => request(server.url, recallPath(params));
  const health = async () => (await request(server.url, '/healthz')).json;

  test('before any search the provider is not started; a working provider gives complete hybrid results over HTTP', async () => {
    assert.equal((await health()).providers[0].circuit, 'not started');
    fake.setFaults({});
    const answer = await get({ q: '开心', top_k: 5 });
    assert.equal(answer.status, 200);
    const json = RecallJson.parse(answer.json);
    assert.equal(json.partial, false);
    assert.ok(json.results.some((r) => r.scores.vector !== null));
    assert.equal((await health()).providers[0].circuit, 'closed');
  });

  test('a hanging provider: keyword results marked partial within the budget (200, never 5xx), and not cached', async () => {
    fake.setFaults({ embeddings: () => ({ hang: true }) });
    const started = performance.now();
    const answer = await get({ q: '开心', timeout: '1s' });
    const elapsed = performance.now() - started;
    assert.equal(answer.status, 200, answer.text);
    const json = RecallJson.parse(answer.json);
    assert.equal(json.partial, true);
    assert.match(json.reason!, /embed: .*1000 ms/);
    assert.ok(json.results.length > 0);
    assert.ok(json.results.every((r) => r.scores.vector === null && r.scores.keyword! > 0));
    assert.ok(elapsed >= 950 && elapsed < 2500, `answered after ${elapsed.toFixed(0)} ms`);

    const vectorOnly = await get({ q: '开心', mode: 'vector', timeout: '500ms' });
    assert.equal(vectorOnly.status, 200, 'nothing could be searched is still an answer');
    assert.deepEqual([vectorOnly.json.failed, vectorOnly.json.results.length], [true, 0]);

    fake.setFaults({});
    const again = await get({ q: '开心', timeout: '1s' });
    assert.equal(again.headers['x-emomo-cache'], 'miss', 'a partial answer is never served from the cache');
    assert.equal(again.json.partial, false);
  });

  test('every slot busy and the queue full: 429 with Retry-After, at once', async () => {
    fake.setFaults({ embeddings: () => ({ hang: true }) });
    const slow = get({ q: '摸鱼', timeout: '1500ms' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = performance.now();
    const refused = await get({ q: '躺平', timeout: '1500ms' });
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(refused.json.error.code, 'busy');
    assert.ok(performance.now() - started < 500, 'refused without waiting');
    assert.equal((await slow).status, 200);
    fake.setFaults({});
  });

  test('failures open the circuit (/healthz degraded), a stopped circuit is retried later, and recall is complete again once the provider is back', async () => {
    fake.setFaults({ embeddings: () => ({ status: 500 }) });
    for (let i = 0; i < 5; i++) {
      const answer = await get({ q: `开心${i}`, timeout: '2s' });
      assert.equal(answer.status, 200);
      assert.equal(answer.json.partial, true);
    }
    const open = await health();
    assert.deepEqual([open.ok, open.degraded, open.providers[0].circuit], [true, true, 'open']);
    // Open for longer than ingest.max_outage (2s): a run would stop here; the server stops this client and later tries a fresh one.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const stopped = await get({ q: '离谱', timeout: '2s' });
    assert.equal(stopped.status, 200);
    assert.equal(stopped.json.partial, true);
    assert.equal((await health()).providers[0].circuit, 'stopped');

    fake.setFaults({});
    const back = await get({ q: '离谱', timeout: '2s' });
    assert.equal(back.status, 200);
    assert.equal(back.json.partial, false, back.json.reason);
    const healthy = await health();
    assert.deepEqual([healthy.degraded, healthy.providers[0].circuit], [false, 'closed']);
    assert.ok(!server.log().includes(KEY), 'the key never reaches the log');
  });
});
