/**
 * `emomo embed` over a library of 500 memes built directly through the store:
 * batched, incremental, no describer call, and crash-safe (a spawned CLI run
 * killed with SIGKILL, then re-run, leaves exactly one vector per meme).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { createApp, type AppOverrides } from '../../src/app.js';
import { embed, type EmbedFlags } from '../../src/cli/commands/embed.js';
import { Reporter } from '../../src/cli/reporter.js';
import type { EmbedSummary } from '../../src/pipeline/embed-service.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { vecTableName } from '../../src/store/sqlite/vector-tables.js';
import { startCli, runCli, waitFor } from '../helpers/cli.js';
import { FakeDescriber, FakeEmbedder } from '../helpers/fakes.js';
import { Capture } from '../helpers/run-ingest.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const N = 500;

/** N memes with descriptions and a vector in the default collection, written through the store. */
async function buildLibrary(db: string, n: number): Promise<void> {
  const store = new SqliteStore(db);
  const embedder = new FakeEmbedder(256);
  await store.ensureCollection('emomo-local', 256, embedder.model);
  for (let i = 0; i < n; i++) {
    const md5 = createHash('md5').update(`meme ${i}`).digest('hex');
    const description = { ocrText: `配文${i}`, description: `熊猫头表情包 ${i}`, emotions: ['无奈'] };
    const descriptionKey = { md5, vlmModel: 'fake-vlm', promptVersion: 'fake-1' };
    await store.saveDescription(descriptionKey, description);
    const vector = new Float32Array(256).fill(0);
    vector[i % 256] = 1;
    await store.commitItem({
      item: { sourceType: 'staging:lib', sourceId: `m${i}`, path: `/nowhere/${i}.png`, category: '熊猫头', tags: ['熊猫头'] },
      facts: { md5, format: 'png', ext: 'png', width: 10, height: 10, frames: 1, isAnimated: false, fileSize: 100 },
      storageKey: `${md5.slice(0, 2)}/${md5}.png`,
      description,
      descriptionKey,
      collection: 'emomo-local',
      embeddingModel: embedder.model,
      vector,
      replace: false,
    });
  }
  await store.close();
}

function vectorCounts(dbFile: string, collection: string): { rows: number; vec: number; distinct: number } {
  const db = new Database(dbFile, { readonly: true });
  sqliteVec.load(db);
  const one = (sql: string) => (db.prepare(sql).get(collection) as { n: number }).n;
  const exists = db.prepare('SELECT 1 FROM collections WHERE name = ?').get(collection);
  const result = exists
    ? {
        rows: one('SELECT count(*) n FROM meme_vectors WHERE collection = ?'),
        distinct: one('SELECT count(DISTINCT meme_id) n FROM meme_vectors WHERE collection = ?'),
        vec: (db.prepare(`SELECT count(*) n FROM "${vecTableName(collection)}"`).get() as { n: number }).n,
      }
    : { rows: 0, vec: 0, distinct: 0 };
  db.close();
  return result;
}

describe('embed backfill', () => {
  let ws: Workspace;
  before(async () => {
    ws = makeWorkspace();
    await buildLibrary(ws.db, N);
  });
  after(() => ws.cleanup());

  async function runEmbed(flags: Partial<EmbedFlags>, overrides: AppOverrides) {
    const app = createApp({ configPath: ws.config }, overrides);
    const out = new Capture();
    try {
      const reporter = new Reporter({ json: true, quiet: true, verbose: false }, new Capture(), out);
      const code = await embed({ embedding: 'second', watch: false, ...flags }, app, reporter, new AbortController().signal);
      return { code, summary: JSON.parse(out.text) as EmbedSummary };
    } finally {
      await app.close();
    }
  }

  test('fills a second collection in batches without one describer call; a second run does nothing', async () => {
    const describer = new FakeDescriber();
    const second = new FakeEmbedder(128);
    const overrides: AppOverrides = { describer, embedder: () => second };
    const limited = await runEmbed({ limit: 70, batchSize: 25 }, overrides);
    assert.equal(limited.summary.embedded, 70);
    assert.deepEqual([second.calls, second.texts], [3, 70], 'batches of 25, 25, 20');

    const rest = await runEmbed({ batchSize: 64 }, overrides);
    assert.equal(rest.code, 0);
    assert.equal(rest.summary.embedded, N - 70, 'already-embedded memes are left alone');
    assert.equal(rest.summary.requests, Math.ceil((N - 70) / 64));
    assert.equal(describer.calls, 0);
    assert.deepEqual(vectorCounts(ws.db, 'second'), { rows: N, vec: N, distinct: N });
    assert.deepEqual(vectorCounts(ws.db, 'emomo-local'), { rows: N, vec: N, distinct: N }, 'the other collection is untouched');

    second.calls = 0;
    const again = await runEmbed({}, overrides);
    assert.equal(again.summary.embedded, 0);
    assert.equal(second.calls, 0);
  });

  test('the embedded text is the ingest text of the latest description', async () => {
    const third = new FakeEmbedder(64);
    const seen: string[] = [];
    const spy = Object.assign(Object.create(third) as FakeEmbedder, {
      embed: (texts: string[], mode: 'document' | 'query') => {
        seen.push(...texts);
        return third.embed(texts, mode);
      },
    });
    const ws3 = makeWorkspace('', `embeddings:\n  - name: local\n    provider: local\n    dimensions: 256\n    collection: emomo-local\n  - name: third\n    provider: local\n    dimensions: 64\n    collection: third\n`);
    try {
      await buildLibrary(ws3.db, 2);
      const app = createApp({ configPath: ws3.config }, { embedder: () => spy });
      const reporter = new Reporter({ json: true, quiet: true, verbose: false }, new Capture(), new Capture());
      await embed({ embedding: 'third', watch: false }, app, reporter, new AbortController().signal);
      await app.close();
      assert.deepEqual(seen, ['文字：配文0\n描述：熊猫头表情包 0\n标签：熊猫头\n情绪：无奈', '文字：配文1\n描述：熊猫头表情包 1\n标签：熊猫头\n情绪：无奈']);
    } finally {
      ws3.cleanup();
    }
  });

  test('kill -9 in the middle of a spawned embed, then a re-run: exactly one vector per meme', async () => {
    const ws2 = makeWorkspace('', `embeddings:\n  - name: local\n    provider: local\n    dimensions: 256\n    collection: emomo-local\n  - name: big\n    provider: local\n    dimensions: 384\n    collection: big\n`);
    try {
      await buildLibrary(ws2.db, N);
      const run = startCli(['--config', ws2.config, 'embed', '--embedding', 'big', '--batch-size', '2']);
      await waitFor(() => vectorCounts(ws2.db, 'big').rows >= 20, 30_000, 'the first batches');
      run.child.kill('SIGKILL');
      const killed = await run.done;
      assert.equal(killed.signal, 'SIGKILL');
      const partial = vectorCounts(ws2.db, 'big');
      assert.ok(partial.rows < N, `killed before the end (${partial.rows} of ${N})`);
      assert.equal(partial.vec, partial.rows, 'each committed batch has both rows');

      const rerun = await runCli(['--config', ws2.config, '--json', 'embed', '--embedding', 'big']);
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.equal((JSON.parse(rerun.stdout) as EmbedSummary).embedded, N - partial.rows);
      assert.deepEqual(vectorCounts(ws2.db, 'big'), { rows: N, vec: N, distinct: N });
    } finally {
      ws2.cleanup();
    }
  });

  test('--watch keeps checking and stops cleanly on SIGTERM with the summary and exit 0', async () => {
    const run = startCli(['--config', ws.config, '--json', 'embed', '--embedding', 'local', '--watch', '--interval', '200ms']);
    // The library already has every vector in "local": wait for the first pass, then add work for the next one.
    await waitFor(() => run.output().stderr.includes('embed → collection'), 30_000, 'the watch to start');
    const db = new Database(ws.db);
    sqliteVec.load(db);
    db.prepare("DELETE FROM meme_vectors WHERE collection = 'emomo-local' AND meme_id <= 5").run();
    db.prepare(`DELETE FROM "${vecTableName('emomo-local')}" WHERE meme_id <= 5`).run();
    db.close();
    await waitFor(() => vectorCounts(ws.db, 'emomo-local').rows === N, 30_000, 'the next pass to refill');
    run.child.kill('SIGTERM');
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as EmbedSummary & { passes: number };
    assert.equal(summary.embedded, 5);
    assert.ok(summary.passes >= 2);
    assert.equal(summary.aborted, undefined);
  });
});
