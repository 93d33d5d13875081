/**
 * A slow or broken embedding provider never sinks recall, on any store
 * backend: the real OpenAI embedder talks to a fake OpenAI server on
 * 127.0.0.1 whose /v1/embeddings hangs (or refuses), and `recall --timeout 1s`
 * comes back with the keyword results, marked partial, within 1.5 s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { FakeDescriber, FakeEmbedder } from '../helpers/fakes.js';
import { recallInProcess } from '../helpers/recall-json.js';
import { keyEnv, makeRemoteWorkspace } from '../helpers/remote-workspace.js';
import { runIngest } from '../helpers/run-ingest.js';
import { STORE_BACKENDS, type StoreBackend } from '../helpers/store-backends.js';
import { copySample, type Workspace } from '../helpers/workspace.js';

function recallWithFailingProvider(backend: StoreBackend) {
  describe(`recall with a failing embedding provider: ${backend.name}`, { skip: backend.unavailable }, () => {
    let fake: FakeOpenAI;
    let ws: Workspace;
    let drop: () => Promise<void> = async () => undefined;
    const env = keyEnv('sk-test-recall');

    before(async () => {
      fake = await startFakeOpenAI();
      ws = makeRemoteWorkspace(fake, { provider: 'openai', model: 'text-embedding-3-small', dims: 64 });
      drop = await backend.useIn(ws);
      copySample(ws, 'sample', 16);
      // The library itself is built with in-process fakes; only the query embedding goes over HTTP.
      const run = await runIngest(ws, { source: 'staging:sample' }, { describer: new FakeDescriber(), embedder: () => new FakeEmbedder(64) });
      assert.equal(run.summary.added, 16, run.log);
    });
    after(async () => {
      await fake?.close();
      await drop();
      ws?.cleanup();
    });

    test('a provider that answers: hybrid is complete and the query went over HTTP', async () => {
      fake.setFaults({});
      const { code, json } = await recallInProcess(ws.config, '开心', {}, {}, env);
      assert.equal(code, 0);
      assert.equal(json.partial, false);
      assert.ok(json.results.some((r) => r.scores.vector !== null && r.scores.keyword !== null));
      assert.ok(fake.count('embeddings') >= 1);
    });

    test('hanging /v1/embeddings: keyword results marked partial within 1.5 s, exit 0', async () => {
      fake.setFaults({ embeddings: () => ({ hang: true }) });
      const started = performance.now();
      const { code, json, log } = await recallInProcess(ws.config, '开心', { timeout: 1000 }, {}, env);
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 1500, `took ${elapsed.toFixed(0)} ms`);
      assert.ok(elapsed >= 950, `gave up early: ${elapsed.toFixed(0)} ms`);
      assert.equal(code, 0);
      assert.equal(json.partial, true);
      assert.match(json.reason!, /embed: .*1000 ms/);
      assert.ok(json.results.length > 0);
      for (const r of json.results) {
        assert.equal(r.scores.vector, null);
        assert.ok(r.scores.keyword! > 0);
        assert.ok(r.tags.includes('开心') || r.explain.matched_terms.includes('开心'));
      }
      assert.match(log, /partial results/);
    });

    test('vector mode with nothing to fall back on: failed, exit 3, still within the budget', async () => {
      fake.setFaults({ embeddings: () => ({ hang: true }) });
      const started = performance.now();
      const { code, json } = await recallInProcess(ws.config, '开心', { timeout: 500, mode: 'vector' }, {}, env);
      assert.ok(performance.now() - started < 1000);
      assert.equal(code, 3);
      assert.equal(json.failed, true);
      assert.deepEqual(json.results, []);
    });

    test('a provider refusing the key (401): partial at once, the key never in the reason', async () => {
      fake.setFaults({ embeddings: () => ({ status: 401, message: 'bad key sk-test-recall' }) });
      const started = performance.now();
      const { code, json } = await recallInProcess(ws.config, '开心', { timeout: 3000 }, {}, env);
      assert.ok(performance.now() - started < 1500);
      assert.equal(code, 0);
      assert.equal(json.partial, true);
      assert.ok(!json.reason!.includes('sk-test-recall'), json.reason!);
      assert.ok(json.results.length > 0);
    });
  });
}

for (const backend of STORE_BACKENDS) recallWithFailingProvider(backend);
