/**
 * Ingest with `storage.type: s3` against s3rver: one object per meme, and the
 * undo path removes exactly the objects that failed items created.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { S3Storage } from '../../src/storage/s3-storage.js';
import { FakeDescriber, FakeEmbedder } from '../helpers/fakes.js';
import { runIngest } from '../helpers/run-ingest.js';
import { startS3Server, useS3Storage, type S3Fixture } from '../helpers/s3-server.js';
import { copySample, listObjects, makeWorkspace, type Workspace } from '../helpers/workspace.js';

describe('ingest with S3 object storage', () => {
  let s3: S3Fixture;
  let ws: Workspace;
  let bucket: S3Storage;
  before(async () => (s3 = await startS3Server()));
  after(async () => s3.stop());
  beforeEach(async () => {
    ws = makeWorkspace();
    useS3Storage(ws, s3);
    bucket = new S3Storage(s3.options());
    for await (const key of bucket.list()) await bucket.delete(key);
  });
  afterEach(async () => {
    await bucket.close();
    ws.cleanup();
  });

  async function objects(): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of bucket.list()) keys.push(key);
    return keys.sort();
  }

  function storageKeys(): string[] {
    const db = new Database(ws.db, { readonly: true });
    const keys = (db.prepare('SELECT storage_key FROM memes ORDER BY storage_key').all() as Array<{ storage_key: string }>).map((r) => r.storage_key);
    db.close();
    return keys;
  }

  test('each meme has exactly one object in the bucket, and nothing goes to a local folder', async () => {
    const n = copySample(ws, 'sample', 8);
    const describer = new FakeDescriber();
    const embedder = new FakeEmbedder(256);
    const putsBefore = (await s3.sync(), s3.puts.length);
    const run = await runIngest(ws, { source: 'staging:sample' }, { describer, embedder: () => embedder }, undefined, s3.env);
    assert.equal(run.code, 0, run.log);
    assert.equal(run.summary.added, n);
    assert.deepEqual(await objects(), storageKeys());
    assert.equal(storageKeys().length, n);
    await s3.sync();
    assert.equal(s3.puts.length - putsBefore, n, 'one PUT per meme');
    assert.equal(listObjects(ws.objects).length, 0);

    const again = await runIngest(ws, { source: 'staging:sample' }, { describer, embedder: () => embedder }, undefined, s3.env);
    assert.equal(again.summary.skipped, n);
    await s3.sync();
    assert.equal(s3.puts.length - putsBefore, n, 'a re-run uploads nothing');
  });

  test('objects created by items whose embedding failed are removed; committed ones stay', async () => {
    const n = copySample(ws, 'sample', 10);
    const embedder = new FakeEmbedder(256);
    embedder.failWhen = (text) => text.includes('熊猫头');
    const run = await runIngest(ws, { source: 'staging:sample' }, { describer: new FakeDescriber(), embedder: () => embedder }, undefined, s3.env);
    const failed = run.summary.failed;
    assert.ok(failed > 0 && failed < n, `expected some failures, got ${failed}`);
    assert.ok(run.summary.failures.every((f) => f.stage === 'embed'));
    assert.equal(run.summary.added, n - failed);
    const committed = storageKeys();
    assert.equal(committed.length, n - failed);
    assert.deepEqual(await objects(), committed, 'exactly the committed memes keep their objects');

    embedder.failWhen = undefined;
    const rerun = await runIngest(ws, { source: 'staging:sample' }, { describer: new FakeDescriber(), embedder: () => embedder }, undefined, s3.env);
    assert.equal(rerun.summary.added, failed);
    assert.deepEqual(await objects(), storageKeys());
    assert.equal(storageKeys().length, n);
  });

  test('missing credentials fail with the variable name, before any item is touched', async () => {
    copySample(ws, 'sample', 2);
    await assert.rejects(
      runIngest(ws, { source: 'staging:sample' }, { describer: new FakeDescriber(), embedder: () => new FakeEmbedder(256) }, undefined, {
        STORAGE_ACCESS_KEY: s3.env.STORAGE_ACCESS_KEY,
      }),
      /STORAGE_SECRET_KEY: must be set/,
    );
    assert.deepEqual(await objects(), []);
  });
});
