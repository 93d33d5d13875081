/**
 * `emomo redescribe`: a new frame setting (prompt version) re-describes
 * nothing by itself; redescribe counts the paid calls, wants them confirmed,
 * then reads the animated memes again, moves their vectors and keyword rows,
 * and a re-run (or a run after --limit) continues where the last stopped.
 * Through the real OpenAI describer against the fake server.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { createApp } from '../../src/app.js';
import { runRedescribe, type RedescribeFlags } from '../../src/cli/commands/redescribe.js';
import { Reporter } from '../../src/cli/reporter.js';
import { UsageError } from '../../src/errors.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { BLUE, GREEN, RED, writeScenesStaging } from '../helpers/generated-images.js';
import { keyEnv, makeRemoteWorkspace } from '../helpers/remote-workspace.js';
import { Capture, runIngest } from '../helpers/run-ingest.js';
import type { Workspace } from '../helpers/workspace.js';

const KEY = 'sk-emomo-redescribe-test';
const env = keyEnv(KEY);

describe('redescribe', () => {
  let fake: FakeOpenAI;
  let ws: Workspace;
  before(async () => {
    fake = await startFakeOpenAI();
    // Two animated memes and a still, described first frame only (as before frames were read).
    ws = makeRemoteWorkspace(fake, { provider: 'openai', animatedFrames: 'first' });
    await writeScenesStaging(ws.staging, 'anim', [
      [RED, GREEN, BLUE],
      [BLUE, RED],
    ]);
    // A second, offline collection holds vectors of the same descriptions.
    fs.writeFileSync(
      ws.config,
      fs.readFileSync(ws.config, 'utf8').replace('vlm:\n', '  - name: local2\n    provider: local\n    dimensions: 32\n    collection: local2\nvlm:\n'),
    );
    // One worker: meme ids follow the staging order, so `--limit 1` below takes scenes0 (3 frames) on any machine.
    const run = await runIngest(ws, { source: 'staging:anim', workers: 1 }, {}, undefined, env);
    assert.equal(run.summary.added, 3, run.log);
    const second = await runIngest(ws, { source: 'staging:anim', embedding: 'local2' }, {}, undefined, env);
    assert.equal(second.summary.reused, 3, second.log);
    // The operator switches to several frames per animated meme.
    fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('animated_frames: first', 'animated_frames: multi'));
  });
  after(async () => {
    await fake.close();
    ws?.cleanup();
  });

  const chats = () => fake.count('chat');
  const versions = (collection = 'remote') => {
    const db = new Database(ws.db, { readonly: true });
    const rows = db
      .prepare(
        `SELECT s.source_id AS id, v.prompt_version AS version FROM meme_vectors v JOIN meme_sources s ON s.meme_id = v.meme_id
         WHERE v.collection = ? ORDER BY s.source_id`,
      )
      .all(collection) as Array<{ id: string; version: string }>;
    db.close();
    return Object.fromEntries(rows.map((r) => [r.id, r.version]));
  };

  async function run(flags: Partial<RedescribeFlags>, confirm = async (_question: string) => false) {
    const app = createApp({ configPath: ws.config, env });
    const out = new Capture();
    const err = new Capture();
    const reporter = new Reporter({ json: true, quiet: false, verbose: false }, err, out);
    try {
      const code = await runRedescribe({ animated: true, all: false, dryRun: false, yes: false, ...flags }, app, reporter, new AbortController().signal, confirm);
      return { code, json: JSON.parse(out.text || '{}'), log: err.text };
    } finally {
      await app.close();
    }
  }

  test('a new frame setting re-describes nothing on the next ingest', async () => {
    const before = chats();
    const again = await runIngest(ws, { source: 'staging:anim' }, {}, undefined, env);
    assert.equal(again.summary.skipped, 3, again.log);
    assert.equal(chats(), before);
    assert.deepEqual(versions(), { scenes0: 'vlm-json-1', scenes1: 'vlm-json-1', still: 'vlm-json-1' });
  });

  test('paid calls are counted, and refused unless confirmed', async () => {
    const before = chats();
    const dry = await run({ dryRun: true });
    assert.deepEqual(dry.json, { collection: 'remote', memes: 2, describer_calls: 2, paid: true, dry_run: true });
    assert.match(dry.log, /2 animated meme\(s\) .*2 describer call\(s\) \(paid\)/);
    let asked = '';
    await assert.rejects(
      run({}, async (question: string) => ((asked = question), false)),
      (e: unknown) => e instanceof UsageError && /2 paid describer call\(s\) need --yes/.test(e.message),
    );
    assert.match(asked, /Make up to 2 paid call\(s\) to fake-vlm\?/);
    assert.equal(chats(), before);
  });

  test('--limit 1 reads one animated meme again: its frames in one request, vector and keywords moved', async () => {
    const before = fake.requests.length;
    const first = await run({ yes: true, limit: 1 });
    assert.equal(first.code, 0, first.log);
    assert.deepEqual([first.json.described, first.json.reused, first.json.failed], [1, 0, 0]);
    const calls = fake.requests.slice(before).filter((r) => r.endpoint === 'chat');
    assert.deepEqual(calls.map((r) => r.images?.length), [3]);
    assert.deepEqual(versions(), { scenes0: 'vlm-json-2-f4', scenes1: 'vlm-json-1', still: 'vlm-json-1' });

    const db = new Database(ws.db, { readonly: true });
    const row = db.prepare(`SELECT ocr_text, frames FROM meme_descriptions WHERE prompt_version = 'vlm-json-2-f4'`).get() as { ocr_text: string; frames: number };
    const indexed = db.prepare(`SELECT count(*) AS n FROM memes_fts WHERE memes_fts MATCH ?`).get(`"${row.ocr_text.slice(2)}"`) as { n: number };
    db.close();
    assert.equal(row.frames, 3);
    assert.equal(indexed.n, 1, 'the keyword row holds the new caption');
  });

  test('a re-run continues with the rest, then finds nothing to do; stills are never touched', async () => {
    const second = await run({ yes: true });
    assert.deepEqual([second.code, second.json.described], [0, 1]);
    assert.deepEqual(versions(), { scenes0: 'vlm-json-2-f4', scenes1: 'vlm-json-2-f4', still: 'vlm-json-1' });
    const before = chats();
    const third = await run({ yes: true });
    assert.deepEqual(third.json, { collection: 'remote', memes: 0, describer_calls: 0, paid: true, dry_run: false });
    assert.equal(chats(), before);
  });

  test('another collection reuses the descriptions already made: no call, only its vectors move', async () => {
    const before = chats();
    assert.deepEqual(versions('local2'), { scenes0: 'vlm-json-1', scenes1: 'vlm-json-1', still: 'vlm-json-1' });
    const other = await run({ embedding: 'local2', yes: true });
    assert.deepEqual([other.code, other.json.described, other.json.reused], [0, 0, 2]);
    assert.deepEqual(versions('local2'), { scenes0: 'vlm-json-2-f4', scenes1: 'vlm-json-2-f4', still: 'vlm-json-1' });
    const stills = await run({ animated: false, all: true, dryRun: true });
    assert.deepEqual([stills.json.memes, stills.json.describer_calls], [1, 1], '--all: only the still is left');
    await assert.rejects(run({ animated: true, all: true }), /--animated or --all/);
    assert.equal(chats(), before);
  });
});
