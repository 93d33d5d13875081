/**
 * The CLI against a fake remote provider, as cron would run it: a rejected
 * key stops the run with exit 3 and a message naming the provider and the
 * variable; the key itself is nowhere in stdout, stderr or the database. And
 * the line users type most, `--embedding=jina`, against the fake Jina API.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { writeGeneratedStaging } from '../helpers/generated-images.js';
import { libraryCounts } from '../helpers/library.js';
import { EMBED_KEY_ENV, VLM_KEY_ENV, keyEnv, makeRemoteWorkspace, tableCounts } from '../helpers/remote-workspace.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const WRONG_KEY = 'sk-emomo-WRONGKEY-0b1c2d3e4f';
let fake: FakeOpenAI;
let ws: Workspace;

before(async () => {
  fake = await startFakeOpenAI({ apiKey: 'the-right-key' });
  ws = makeRemoteWorkspace(fake, { workers: 4 });
  await writeGeneratedStaging(ws.staging, 'cron', 30);
});
after(async () => {
  await fake.close();
  ws.cleanup();
});

test('emomo ingest with a rejected key: exit 3, one JSON summary, the variable named, the key nowhere', async () => {
  const started = Date.now();
  const run = await runCli(['ingest', '--source=staging:cron', '--config', ws.config, '--json'], { env: keyEnv(WRONG_KEY) });
  assert.ok(Date.now() - started < 10_000 + 3_000, 'stopped quickly (plus process start-up)');
  assert.equal(run.code, 3, run.stderr);
  const summary = JSON.parse(run.stdout) as { failed: number; aborted?: string };
  assert.equal(summary.failed, 0);
  assert.match(summary.aborted ?? '', new RegExp(`vlm "openai" \\(model fake-vlm\\) rejected the API key in ${VLM_KEY_ENV} \\(HTTP 401\\)`));
  // Without --json the human report on stderr says the same.
  const human = await runCli(['ingest', '--source=staging:cron', '--config', ws.config], { env: keyEnv(WRONG_KEY) });
  assert.equal(human.code, 3);
  assert.match(human.stderr, new RegExp(`stopped early: .*rejected the API key in ${VLM_KEY_ENV}`));
  assert.deepEqual(tableCounts(ws), { memes: 0, vectors: 0, descriptions: 0, jobs: 0 });
  const dbBytes = [ws.db, `${ws.db}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f).toString('latin1'));
  for (const text of [run.stdout, run.stderr, human.stdout, human.stderr, ...dbBytes]) assert.ok(!text.includes(WRONG_KEY.slice(3)), 'key leaked');
  assert.ok(fake.requests.every((r) => r.hasAuth));
});

test('the line users type most: emomo ingest --source=staging:fabiaoqing --embedding=jina', async () => {
  const jina = makeWorkspace(
    `vlm:\n  provider: openai\n  model: fake-vlm\n  base_url: ${fake.baseURL}\n  api_key_env: ${VLM_KEY_ENV}\n`,
    `embeddings:\n  - name: local\n    provider: local\n    dimensions: 64\n    collection: emomo-local\n    is_default: true\n` +
      `  - name: jina\n    provider: jina\n    model: jina-embeddings-v3\n    base_url: ${fake.url}\n` +
      `    api_key_env: ${EMBED_KEY_ENV}\n    dimensions: 32\n    collection: emomo\n`,
  );
  try {
    await writeGeneratedStaging(jina.staging, 'fabiaoqing', 6);
    const env = keyEnv('the-right-key');
    const run = await runCli(['--config', jina.config, 'ingest', '--source=staging:fabiaoqing', '--embedding=jina', '--json'], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { added: number }).added, 6);
    const bodies = fake.requests.filter((r) => r.path.endsWith('/embeddings')).map((r) => r.body as { task?: string; dimensions?: number });
    assert.ok(bodies.some((b) => b.task === 'retrieval.passage' && b.dimensions === 32), 'Jina request shape');
    assert.deepEqual(libraryCounts(jina, ['memes', 'vec'], 'emomo'), { memes: 6, vec: 6 });
    // `--embedding jina` (space form) is the same option.
    const again = await runCli(['--config', jina.config, 'ingest', '--source', 'staging:fabiaoqing', '--embedding', 'jina', '--json'], { env });
    assert.equal((JSON.parse(again.stdout) as { skipped: number }).skipped, 6);
  } finally {
    jina.cleanup();
  }
});
