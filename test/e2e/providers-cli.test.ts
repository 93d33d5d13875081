/**
 * The CLI against a fake remote provider, as cron would run it: a rejected
 * key stops the run with exit 3 and a message naming the provider and the
 * variable; the key itself is nowhere in stdout, stderr or the database.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { writeGeneratedStaging } from '../helpers/generated-images.js';
import { VLM_KEY_ENV, keyEnv, makeRemoteWorkspace, tableCounts } from '../helpers/remote-workspace.js';
import type { Workspace } from '../helpers/workspace.js';

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
