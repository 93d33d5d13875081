/**
 * emomo for Node programs: `import { openLibrary } from 'emomo'` (resolved
 * through package.json's exports, as a program depending on emomo resolves
 * it) gives the results of `recall --json`, one meme, stats and health; it
 * refuses a missing library and options out of range with a UsageError.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { openLibrary, UsageError, type Library } from '../../src/index.js';
import { FakeDescriber } from '../helpers/fakes.js';
import { recallInProcess, RecallJson } from '../helpers/recall-json.js';
import { runIngest } from '../helpers/run-ingest.js';
import { copySample, makeWorkspace, projectRoot, type Workspace } from '../helpers/workspace.js';

const run = promisify(execFile);

describe('openLibrary: emomo as a Node library', () => {
  let ws: Workspace;
  let library: Library;

  before(async () => {
    ws = makeWorkspace();
    copySample(ws, 'sample', 10);
    const ingest = await runIngest(ws, { source: 'staging:sample' }, { describer: new FakeDescriber() });
    assert.equal(ingest.summary.added, 10, ingest.log);
    library = await openLibrary({ config: ws.config, env: {} });
  });
  after(async () => {
    await library?.close();
    ws?.cleanup();
  });

  test("a program imports it by the package's name and gets what recall --json prints", async () => {
    const program = `
      import { openLibrary } from 'emomo';
      const library = await openLibrary({ config: process.argv[1] });
      const result = await library.recall('开心', { topK: 3, tags: ['开心'] });
      await library.close();
      process.stdout.write(JSON.stringify(result));`;
    // The exports' "emomo:source" condition points at src/ (a published package resolves dist/).
    const { stdout } = await run(
      process.execPath,
      ['--conditions=emomo:source', '--import', 'tsx', '--input-type=module', '-e', program, ws.config],
      { cwd: projectRoot, env: { ...process.env, EMOMO_CONFIG: '', EMOMO_DB: '' } },
    );
    const fromProgram = RecallJson.parse(JSON.parse(stdout));
    const cli = await recallInProcess(ws.config, '开心', { topK: 3, tag: ['开心'] });
    assert.ok(fromProgram.results.length > 0);
    assert.deepEqual(fromProgram.results.map((r) => [r.md5, r.url]), cli.json.results.map((r) => [r.md5, r.url]));
    assert.ok(fromProgram.results.every((r) => r.tags.includes('开心')));
  });

  test('recall, meme, stats and health in the shapes of the HTTP API', async () => {
    const result = RecallJson.parse(await library.recall('开心', { mode: 'keyword', topK: 2 }));
    assert.equal(result.mode, 'keyword');
    const meme = await library.meme(result.results[0]!.md5);
    assert.equal(meme?.md5, result.results[0]!.md5);
    assert.equal(meme?.sources[0]?.source_type, 'staging:sample');
    assert.equal(await library.meme('0'.repeat(32)), undefined);
    assert.equal((await library.stats()).storage.memes, 10);
    const health = await library.health();
    assert.deepEqual([health.ok, health.library.reachable], [true, true]);
    assert.deepEqual(health.providers.map((p) => [p.embedding, p.circuit]), [['local', null], ['second', null]]);
  });

  test('options out of range and unknown names are UsageErrors that say which', async () => {
    const cases: Array<[Parameters<Library['recall']>, RegExp]> = [
      [['  '], /the query is empty/],
      [['开心', { topK: 0 }], /top_k must be a whole number from 1 to 1000, got 0/],
      [['开心', { threshold: 3 }], /threshold must be a cosine similarity between -1 and 1/],
      [['开心', { mode: 'fuzzy' as never }], /mode must be one of hybrid, vector, keyword/],
      [['开心', { embedding: 'nope' }], /nope/],
      [['', { image: Buffer.from('x') }], /searching by picture needs an embedding with input: image/],
    ];
    for (const [args, message] of cases) await assert.rejects(library.recall(...args), (err: Error) => err instanceof UsageError && message.test(err.message));
    await assert.rejects(library.meme('../etc'), /md5 must be 32 lowercase hex digits/);
  });

  test('a missing library is refused, never created', async () => {
    const missing = path.join(ws.dir, 'none', 'emomo.db');
    await assert.rejects(openLibrary({ config: ws.config, db: missing, env: {} }), (err: Error) => err instanceof UsageError && /no library at/.test(err.message));
  });
});
