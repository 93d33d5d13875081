/**
 * `emomo recall` as an operator or a script runs it: a separate process, no
 * TTY, no stdin. With the embedding provider hanging it still exits 0 with
 * keyword results marked partial (one JSON object on stdout, the reason on
 * stderr); the human table goes to stdout; bad flags exit 2.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { FakeDescriber, FakeEmbedder } from '../helpers/fakes.js';
import { RecallJson } from '../helpers/recall-json.js';
import { keyEnv, makeRemoteWorkspace } from '../helpers/remote-workspace.js';
import { runIngest } from '../helpers/run-ingest.js';
import { copySample, type Workspace } from '../helpers/workspace.js';

describe('emomo recall (CLI)', () => {
  let fake: FakeOpenAI;
  let ws: Workspace;

  before(async () => {
    fake = await startFakeOpenAI({ faults: { embeddings: () => ({ hang: true }) } });
    ws = makeRemoteWorkspace(fake, { provider: 'openai', model: 'text-embedding-3-small', dims: 64 });
    copySample(ws, 'sample', 12);
    await runIngest(ws, { source: 'staging:sample' }, { describer: new FakeDescriber(), embedder: () => new FakeEmbedder(64) });
  });
  after(async () => {
    await fake?.close();
    ws?.cleanup();
  });

  test('provider hanging: --json prints one valid object, partial, exit 0, the reason on stderr', async () => {
    const run = await runCli(['--config', ws.config, '--json', 'recall', '开心', '--timeout', '1s', '--tag', '开心'], {
      env: keyEnv('sk-e2e'),
    });
    assert.equal(run.code, 0, run.stderr);
    const json = RecallJson.parse(JSON.parse(run.stdout));
    assert.equal(run.stdout.trim().split('\n').length, 1);
    assert.equal(json.partial, true);
    assert.ok(json.results.length > 0);
    for (const r of json.results) assert.ok(r.tags.includes('开心'));
    // The 1 s time-out bounds the wait; the rest is the keyword side and start-up on a possibly loaded machine.
    assert.ok(json.timings_ms.total < 4000, String(json.timings_ms.total));
    assert.match(run.stderr, /partial results.*did not answer within 1000 ms/);
  });

  test('the table goes to stdout (pipe it), logs to stderr; --explain adds the per-side columns', async () => {
    const run = await runCli(['--config', ws.config, 'recall', '开心', '--mode', 'keyword', '--explain', '--top-k', '2']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /2 results for "开心" \(keyword/);
    assert.match(run.stdout, /bm25 \(rank\)\s+matched/);
    assert.doesNotMatch(run.stderr, /results for/);
  });

  test('recall.synonyms extends the expansions; --explain and --json say which matched; --literal searches the words alone', async () => {
    fs.appendFileSync(ws.config, 'recall:\n  synonyms:\n    乐呵: [开心]\n');
    const table = await runCli(['--config', ws.config, 'recall', '乐呵', '--mode', 'keyword', '--explain', '--top-k', '2']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /expansions: 开心←乐呵 \(config\)/);
    assert.match(table.stdout, /开心←乐呵/);
    const run = await runCli(['--config', ws.config, '--json', 'recall', '乐呵', '--mode', 'keyword']);
    const json = RecallJson.parse(JSON.parse(run.stdout));
    assert.deepEqual(json.expansions.map((e) => [e.term, e.for, e.source]), [['开心', '乐呵', 'config']]);
    assert.ok(json.results.length > 0);
    for (const r of json.results) {
      assert.ok(r.tags.includes('开心'));
      assert.deepEqual(r.explain.matched_expansions, [{ term: '开心', for: '乐呵', source: 'config' }]);
      assert.equal(r.explain.keyword_parts!.query, 0);
      assert.ok(r.explain.keyword_parts!.expansions > 0);
    }
    const literal = RecallJson.parse(JSON.parse((await runCli(['--config', ws.config, '--json', 'recall', '乐呵', '--mode', 'keyword', '--literal'])).stdout));
    assert.deepEqual([literal.expansions, literal.results], [[], []]);
  });

  test('bad flags are usage errors (exit 2)', async () => {
    for (const args of [['--animated', '--static'], ['--timeout', 'soon'], ['--mode', 'fuzzy'], ['--top-k', '0'], ['--threshold', '2']]) {
      const run = await runCli(['--config', ws.config, 'recall', 'x', ...args]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    }
  });
});
