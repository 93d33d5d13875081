/**
 * The ingest pipeline against a real SQLite file and a real local object
 * store, with counting fakes for the describer and embedder ports.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { FakeDescriber, FakeEmbedder } from '../helpers/fakes.js';
import { runIngest } from '../helpers/run-ingest.js';
import { libraryCounts } from '../helpers/library.js';
import { copySample, listObjects, makeWorkspace, type Workspace } from '../helpers/workspace.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { DimensionMismatchError } from '../../src/errors.js';

const counts = (ws: Workspace) => libraryCounts(ws, ['memes', 'vectors', 'descriptions', 'fts', 'objects']);

describe('ingest pipeline', () => {
  let ws: Workspace;
  let describer: FakeDescriber;
  let embedder: FakeEmbedder;
  const overrides = () => ({ describer, embedder: () => embedder });

  beforeEach(() => {
    ws = makeWorkspace();
    describer = new FakeDescriber();
    embedder = new FakeEmbedder(256);
  });
  afterEach(() => ws.cleanup());

  test('adds every item once; a second run skips all without a provider call', async () => {
    const n = copySample(ws, 'sample', 12);
    const first = await runIngest(ws, { source: 'staging:sample' }, overrides());
    assert.equal(first.code, 0);
    assert.deepEqual([first.summary.added, first.summary.skipped, first.summary.failed], [n, 0, 0]);
    assert.deepEqual(counts(ws), { memes: n, vectors: n, descriptions: n, fts: n, objects: n });

    describer.calls = 0;
    embedder.calls = 0;
    const second = await runIngest(ws, { source: 'staging:sample' }, overrides());
    assert.equal(second.code, 0);
    assert.deepEqual([second.summary.added, second.summary.skipped], [0, n]);
    assert.equal(describer.calls, 0);
    assert.equal(embedder.calls, 0);
  });

  test('a second collection reuses object and description: only the embedding is new', async () => {
    const n = copySample(ws, 'sample', 6);
    await runIngest(ws, { source: 'staging:sample' }, overrides());
    const before = counts(ws);
    describer.calls = 0;
    const second = new FakeEmbedder(128);
    const run = await runIngest(ws, { source: 'staging:sample', embedding: 'second' }, {
      describer,
      embedder: (e) => (e.name === 'second' ? second : embedder),
    });
    assert.equal(run.summary.reused, n);
    assert.equal(describer.calls, 0);
    assert.equal(second.texts, n);
    const after = counts(ws);
    assert.equal(after.objects, before.objects);
    assert.equal(after.memes, before.memes);
    assert.equal(after.descriptions, before.descriptions);
    assert.equal(after.vectors, 2 * n);
  });

  test('a describer failure leaves nothing behind and the run goes on', async () => {
    const n = copySample(ws, 'sample', 10);
    describer.failWhen = (input) => input.category === '柴犬';
    const run = await runIngest(ws, { source: 'staging:sample' }, overrides());
    const failed = run.summary.failed;
    assert.ok(failed > 0 && failed < n, `expected some failures, got ${failed}`);
    assert.equal(run.code, 1);
    assert.equal(run.summary.added, n - failed);
    assert.ok(run.summary.failures.every((f) => f.stage === 'describe' && /refused/.test(f.reason)));
    assert.deepEqual(counts(ws), {
      memes: n - failed,
      vectors: n - failed,
      descriptions: n - failed,
      fts: n - failed,
      objects: n - failed,
    });
  });

  test('an embedder failure undoes the object but keeps the paid description for the re-run', async () => {
    const n = copySample(ws, 'sample', 8);
    embedder.failWhen = (text) => text.includes('柴犬');
    const run = await runIngest(ws, { source: 'staging:sample' }, overrides());
    const failed = run.summary.failed;
    assert.ok(failed > 0);
    assert.ok(run.summary.failures.every((f) => f.stage === 'embed'));
    const c = counts(ws);
    assert.equal(c.objects, n - failed, 'objects created by failed items are removed');
    assert.equal(c.memes, n - failed);
    assert.equal(c.descriptions, n, 'descriptions are kept even when a later stage failed');

    embedder.failWhen = undefined;
    describer.calls = 0;
    const rerun = await runIngest(ws, { source: 'staging:sample' }, overrides());
    assert.equal(rerun.summary.added, failed);
    assert.equal(describer.calls, 0, 'the stored description is reused');
    assert.deepEqual(counts(ws), { memes: n, vectors: n, descriptions: n, fts: n, objects: n });
  });

  test('a failing item that reuses an existing meme leaves that meme intact', async () => {
    copySample(ws, 'sample', 4);
    await runIngest(ws, { source: 'staging:sample' }, overrides());
    const before = counts(ws);
    const second = new FakeEmbedder(128);
    second.failWhen = () => true;
    const run = await runIngest(ws, { source: 'staging:sample', embedding: 'second' }, {
      describer,
      embedder: (e) => (e.name === 'second' ? second : embedder),
    });
    assert.equal(run.summary.failed, 4);
    assert.deepEqual(counts(ws), before);
  });

  test('a wrong-dimension vector fails only that item with a readable reason', async () => {
    copySample(ws, 'sample', 3);
    embedder.wrongDims = true;
    const run = await runIngest(ws, { source: 'staging:sample' }, overrides());
    assert.equal(run.summary.failed, 3);
    assert.match(run.summary.failures[0]!.reason, /257 dimensions, expected 256/);
    assert.equal(counts(ws).objects, 0);
  });

  test('two manifest entries with identical bytes make one meme, one object', async () => {
    copySample(ws, 'sample', 2);
    const dir = path.join(ws.staging, 'sample');
    const [first] = fs.readFileSync(path.join(dir, 'manifest.jsonl'), 'utf8').split('\n');
    const copy = { ...JSON.parse(first!), id: 'dup', filename: 'dup.png' };
    fs.copyFileSync(path.join(dir, 'images', JSON.parse(first!).filename), path.join(dir, 'images', 'dup.png'));
    fs.appendFileSync(path.join(dir, 'manifest.jsonl'), JSON.stringify(copy) + '\n');
    const run = await runIngest(ws, { source: 'staging:sample', workers: 4 }, overrides());
    assert.deepEqual([run.summary.added, run.summary.skipped], [2, 1]);
    assert.deepEqual(counts(ws), { memes: 2, vectors: 2, descriptions: 2, fts: 2, objects: 2 });
  });

  test('--dry-run plans without writing or calling a provider', async () => {
    const n = copySample(ws, 'sample', 5);
    const run = await runIngest(ws, { source: 'staging:sample', dryRun: true }, overrides());
    assert.equal(run.summary.added, n);
    assert.equal(run.summary.dry_run, true);
    assert.equal(describer.calls + embedder.calls, 0);
    assert.equal(listObjects(ws.objects).length, 0);
    const db = new Database(ws.db, { readonly: true });
    assert.equal((db.prepare('SELECT count(*) n FROM memes').get() as { n: number }).n, 0);
    db.close();
  });

  test('--force re-embeds items already in the collection, without duplicates', async () => {
    const n = copySample(ws, 'sample', 3);
    await runIngest(ws, { source: 'staging:sample' }, overrides());
    embedder.calls = 0;
    const run = await runIngest(ws, { source: 'staging:sample', force: true }, overrides());
    assert.equal(run.summary.reused, n);
    assert.equal(embedder.calls, n);
    assert.deepEqual(counts(ws), { memes: n, vectors: n, descriptions: n, fts: n, objects: n });
  });

  test('--limit stops after n items', async () => {
    copySample(ws, 'sample', 10);
    const run = await runIngest(ws, { source: 'staging:sample', limit: 4 }, overrides());
    assert.equal(run.summary.added, 4);
  });

  test('failures become job rows: transient ones are scheduled, permanent ones dead', async () => {
    copySample(ws, 'sample', 2);
    const dir = path.join(ws.staging, 'sample');
    fs.writeFileSync(path.join(dir, 'images', 'bad.png'), 'not an image at all');
    fs.appendFileSync(path.join(dir, 'manifest.jsonl'), JSON.stringify({ id: 'bad', filename: 'bad.png' }) + '\n');
    embedder.failWhen = (text) => text.includes('熊猫头') || text.includes('柴犬') || text.includes('猫猫');
    await runIngest(ws, { source: 'staging:sample' }, overrides());
    const db = new Database(ws.db, { readonly: true });
    const jobs = db.prepare('SELECT source_id, stage, status, attempts, next_retry_at FROM jobs ORDER BY source_id').all() as Array<{
      source_id: string;
      stage: string;
      status: string;
      attempts: number;
      next_retry_at: string | null;
    }>;
    db.close();
    const bad = jobs.find((j) => j.source_id === 'bad')!;
    assert.deepEqual([bad.stage, bad.status, bad.attempts, bad.next_retry_at], ['decode', 'dead', 1, null]);
    const transient = jobs.filter((j) => j.source_id !== 'bad');
    assert.ok(transient.length > 0);
    for (const job of transient) {
      assert.equal(job.status, 'failed');
      assert.equal(job.stage, 'embed');
      assert.ok(job.next_retry_at && Date.parse(job.next_retry_at) >= Date.now() - 5000);
    }
  });
});

describe('store', () => {
  test('a dimension that disagrees with an existing collection is refused, table untouched', async () => {
    const ws = makeWorkspace();
    try {
      const store = new SqliteStore(ws.db);
      await store.ensureCollection('c1', 8, 'm');
      await assert.rejects(store.ensureCollection('c1', 16, 'm'), DimensionMismatchError);
      await store.ensureCollection('c1', 8, 'm');
      await store.close();
    } finally {
      ws.cleanup();
    }
  });
});
