/**
 * Ingest through the real remote adapters (the `openai` package, fetch for
 * Jina) against a fake OpenAI-compatible server on 127.0.0.1 that injects
 * 429s, 5xx, 401, malformed replies and wrong-size vectors.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { createApp } from '../../src/app.js';
import { chatText, randomFaults, startFakeOpenAI, type FakeOpenAI, type RecordedRequest } from '../helpers/fake-openai-server.js';
import { writeGeneratedStaging } from '../helpers/generated-images.js';
import { EMBED_KEY_ENV, VLM_KEY_ENV, keyEnv, makeRemoteWorkspace, tableCounts } from '../helpers/remote-workspace.js';
import { runIngest } from '../helpers/run-ingest.js';
import type { Workspace } from '../helpers/workspace.js';

const KEY = 'sk-emomo-FAKEKEY-7f3a9c1d5e';

describe('remote providers: ingest', () => {
  let fake: FakeOpenAI;
  const workspaces: Workspace[] = [];
  const workspace = (...args: Parameters<typeof makeRemoteWorkspace>) => {
    const ws = makeRemoteWorkspace(...args);
    workspaces.push(ws);
    return ws;
  };
  before(async () => (fake = await startFakeOpenAI()));
  after(async () => {
    await fake.close();
    for (const ws of workspaces) ws.cleanup();
  });
  const since = (seq: number) => (r: RecordedRequest) => r.seq > seq;

  test('200 images through 10% 429 (Retry-After: 1) and 5% 500: all added, none failed, Retry-After honoured', async () => {
    const ws = workspace(fake, { workers: 32, retryCount: 6 });
    await writeGeneratedStaging(ws.staging, 'flaky', 200);
    const start = fake.requests.length;
    fake.setFaults({
      chat: randomFaults({ p429: 0.1, p500: 0.05, retryAfter: '1', seed: 7 }),
      embeddings: randomFaults({ p429: 0.1, p500: 0.05, retryAfter: '1', seed: 8 }),
    });
    const run = await runIngest(ws, { source: 'staging:flaky' }, {}, undefined, keyEnv(KEY));
    fake.setFaults({});
    assert.equal(run.code, 0, run.log);
    assert.deepEqual([run.summary.added, run.summary.failed], [200, 0]);
    assert.deepEqual(tableCounts(ws), { memes: 200, vectors: 200, descriptions: 200, jobs: 0 });

    const mine = fake.requests.slice(start);
    const limited = mine.filter((r) => r.status === 429);
    assert.ok(limited.length >= 15, `only ${limited.length} 429s were injected`);
    assert.ok(mine.some((r) => r.status === 500));
    for (const r of limited) {
      // The retry of a request carries the same body; it must not come before Retry-After expired.
      const retry = mine.find((n) => n.seq > r.seq && n.bodyHash === r.bodyHash);
      assert.ok(retry, `request ${r.seq} (${r.endpoint}) was never retried`);
      const waited = retry.at - r.answeredAt!;
      assert.ok(waited >= 1000, `request ${r.seq} retried after ${waited.toFixed(1)} ms, before its Retry-After of 1 s`);
    }
    assert.ok(mine.every((r) => r.hasAuth));
  });

  test('a rejected key stops the run within 10 s: exit 3, provider and variable named, nothing recorded as failed', async () => {
    const ws = workspace(fake, { workers: 8 });
    await writeGeneratedStaging(ws.staging, 'badkey', 40);
    const start = fake.requests.length;
    fake.setFaults({ chat: () => ({ status: 401 }), embeddings: () => ({ status: 401 }) });
    const t0 = Date.now();
    const run = await runIngest(ws, { source: 'staging:badkey' }, {}, undefined, keyEnv(KEY));
    fake.setFaults({});
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(run.code, 3);
    assert.match(run.summary.aborted ?? '', new RegExp(`vlm "openai" \\(model fake-vlm\\) rejected the API key in ${VLM_KEY_ENV} \\(HTTP 401\\)`));
    assert.ok(!(run.summary.aborted ?? '').includes(KEY) && !run.log.includes(KEY));
    assert.equal(run.summary.failed, 0);
    assert.deepEqual(tableCounts(ws), { memes: 0, vectors: 0, descriptions: 0, jobs: 0 });
    // At most one request per worker reached the server before the circuit opened.
    assert.ok(fake.count('chat', since(start)) <= 8, `${fake.count('chat', since(start))} chat calls`);
  });

  test('malformed VLM JSON and a wrong-size vector fail only their item; a re-run reuses the paid description', async () => {
    const ws = workspace(fake, { workers: 8 });
    const tagOf = (i: number) => (i === 3 ? ['BADJSON'] : i === 7 ? ['WRONGDIM'] : i === 11 ? ['GARBLED'] : []);
    await writeGeneratedStaging(ws.staging, 'bad', 20, tagOf);
    let garbled = 0;
    fake.setFaults({
      chat: (r) => {
        const text = chatText(r.body);
        if (text.includes('BADJSON')) return { content: 'Sorry, I can only describe it in words: a panda looking tired.' };
        // A transport-level broken body (not the model's fault) is retried like a 5xx.
        if (text.includes('GARBLED') && garbled++ === 0) return { malformedBody: true };
        return undefined;
      },
      embeddings: () => ({ wrongDims: (text) => text.includes('WRONGDIM') }),
    });
    const start = fake.requests.length;
    const first = await runIngest(ws, { source: 'staging:bad' }, {}, undefined, keyEnv(KEY));
    assert.equal(first.code, 1);
    assert.deepEqual([first.summary.added, first.summary.failed], [18, 2]);
    const byId = Object.fromEntries(first.summary.failures.map((f) => [f.source_id, f]));
    assert.equal(byId.g3?.stage, 'describe');
    assert.match(byId.g3!.reason, /gave no usable JSON in 2 replies \(no JSON object in the reply\); last reply: "Sorry, I can only describe it/);
    assert.equal(byId.g7?.stage, 'embed');
    assert.match(byId.g7!.reason, /embedding "remote" \(model jina-embeddings-v3\): embedding has 65 dimensions, expected 64/);
    assert.equal(fake.count('chat', (r) => r.seq > start && chatText(r.body).includes('BADJSON')), 2, 'one retry for an unreadable reply');
    assert.equal(fake.count('chat', (r) => r.seq > start && chatText(r.body).includes('GARBLED')), 2);
    assert.equal(tableCounts(ws).descriptions, 19, 'the description of the item whose embedding failed is kept');

    fake.setFaults({});
    const rerunStart = fake.requests.length;
    const second = await runIngest(ws, { source: 'staging:bad' }, {}, undefined, keyEnv(KEY));
    assert.equal(second.code, 0);
    assert.deepEqual([second.summary.added, second.summary.skipped, second.summary.failed], [2, 18, 0]);
    assert.equal(fake.count('chat', (r) => r.seq > rerunStart && chatText(r.body).includes('WRONGDIM')), 0, 'no new chat call for a described item');
    assert.equal(fake.count('chat', since(rerunStart)), 1);
  });

  test('an endpoint that refuses JSON mode: every lane drops it and asks again; nothing fails, the run goes on', async () => {
    const ws = workspace(fake, { workers: 8 });
    await writeGeneratedStaging(ws.staging, 'nojson', 24);
    const start = fake.requests.length;
    fake.setFaults({
      chat: (r) => (r.body?.response_format ? { status: 400, message: "'response_format' of type 'json_object' is not supported with this model" } : undefined),
    });
    const run = await runIngest(ws, { source: 'staging:nojson' }, {}, undefined, keyEnv(KEY));
    fake.setFaults({});
    assert.equal(run.code, 0, run.log);
    assert.deepEqual([run.summary.added, run.summary.failed], [24, 0]);
    const refused = fake.count('chat', (r) => r.seq > start && r.status === 400);
    assert.ok(refused >= 1 && refused <= 8, `${refused} refusals: at most one per lane that asked before the first answer`);
  });

  test('batching: 32 workers share embedding requests (≤ items / 8)', async () => {
    const ws = workspace(fake, { workers: 32 });
    await writeGeneratedStaging(ws.staging, 'batch', 96);
    fake.setLatency({ chat: 150, embeddings: 40 });
    const start = fake.requests.length;
    const run = await runIngest(ws, { source: 'staging:batch' }, {}, undefined, keyEnv(KEY));
    fake.setLatency({});
    assert.equal(run.summary.added, 96);
    const embeddingRequests = fake.requests.filter((r) => r.seq > start && r.endpoint === 'embeddings');
    assert.ok(embeddingRequests.length <= 96 / 8, `${embeddingRequests.length} embedding requests for 96 items`);
    assert.equal(embeddingRequests.reduce((n, r) => n + (r.batchSize ?? 0), 0), 96);
    assert.ok(embeddingRequests.every((r) => r.body.task === 'retrieval.passage' && r.body.dimensions === 64));
  });

  test('secrets: the key appears in no log, error, summary or database byte', async () => {
    const ws = workspace(fake, { workers: 4 });
    await writeGeneratedStaging(ws.staging, 'secret', 12, (i) => (i === 2 ? ['ECHO'] : []));
    fake.setFaults({
      // A provider that echoes the key in its error message (some do).
      chat: (r) => (chatText(r.body).includes('ECHO') ? { status: 400, message: `Invalid request for key ${KEY}` } : undefined),
    });
    const run = await runIngest(ws, { source: 'staging:secret' }, {}, undefined, keyEnv(KEY));
    fake.setFaults({});
    assert.deepEqual([run.summary.added, run.summary.failed], [11, 1]);
    assert.match(run.summary.failures[0]!.reason, /HTTP 400: Invalid request for key \*\*\*/);
    const db = new Database(ws.db);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const reasons = db.prepare('SELECT reason FROM jobs').all() as Array<{ reason: string }>;
    db.close();
    assert.equal(reasons.length, 1);
    const haystacks = [run.log, JSON.stringify(run.summary), ...reasons.map((r) => r.reason)];
    for (const file of [ws.db, `${ws.db}-wal`, `${ws.db}-shm`]) if (fs.existsSync(file)) haystacks.push(fs.readFileSync(file).toString('latin1'));
    for (const text of haystacks) assert.ok(!text.includes(KEY) && !text.includes(KEY.slice(3)), 'key leaked');
  });

  test('modelscope / OpenAI-compatible embeddings: floats, dimensions, Qwen3 query instruction; a missing key is a config error', async () => {
    const ws = workspace(fake, { provider: 'modelscope', model: 'Qwen/Qwen3-Embedding-8B', dims: 48 });
    const app = createApp({ configPath: ws.config, env: keyEnv(KEY) });
    try {
      const start = fake.requests.length;
      const { embedder } = app.embedding();
      const [q] = await embedder.embed(['无语'], 'query');
      const [d] = await embedder.embed(['无语'], 'document');
      assert.equal(q!.length, 48);
      assert.notDeepEqual(q, d);
      const [qReq, dReq] = fake.requests.slice(start);
      assert.equal(qReq!.body.input[0], 'Instruct: Given a search query about a meme, retrieve memes that match\nQuery: 无语');
      assert.equal(dReq!.body.input[0], '无语');
      assert.deepEqual([qReq!.body.encoding_format, qReq!.body.dimensions, qReq!.path], ['float', 48, '/v1/embeddings']);
    } finally {
      await app.close();
    }
    const noKey = createApp({ configPath: ws.config, env: {} });
    assert.throws(() => noKey.embedding(), new RegExp(`${EMBED_KEY_ENV}: must be set to the API key for embedding "remote"`));
    assert.throws(() => noKey.describer, new RegExp(VLM_KEY_ENV));
    await noKey.close();
  });
});
