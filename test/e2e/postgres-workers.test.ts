/**
 * Many machines on one library, as spawned CLI processes: three `emomo
 * ingest` workers on one staging source (300 images), one PostgreSQL, one
 * S3-protocol server (s3rver) and the fake OpenAI-compatible provider
 * answering each describe call in 2 s. Every image is described exactly once
 * and stored once; a worker killed with SIGKILL has its images taken over
 * once its lease runs out; `verify` is clean either way. Also: the cron lock
 * is a PostgreSQL advisory lock shared by every machine.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { RunSummary } from '../../src/pipeline/outcome.js';
import { runCli, startCli } from '../helpers/cli.js';
import { chatCallsPerImage, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { writeGeneratedStaging } from '../helpers/generated-images.js';
import { createTestDatabase, describeIfPostgres, pgLibraryCounts, usePostgres, type TestDatabase } from '../helpers/postgres.js';
import { keyEnv, makeRemoteWorkspace } from '../helpers/remote-workspace.js';
import { startS3Server, useS3Storage, type S3Fixture } from '../helpers/s3-server.js';
import type { Workspace } from '../helpers/workspace.js';

const IMAGES = 300;
const LEASE_S = 4;
const COUNTS = ['memes', 'md5s', 'sources', 'vectors', 'vec', 'descriptions', 'fts', 'openJobs', 'claims'] as const;
const EXACT = { memes: IMAGES, md5s: IMAGES, sources: IMAGES, vectors: IMAGES, vec: IMAGES, descriptions: IMAGES, fts: IMAGES, openJobs: 0, claims: 0 };

/** Polls an async condition (a database query) until it holds; fails after two minutes. */
async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Library {
  ws: Workspace;
  db: TestDatabase;
  s3: S3Fixture;
  env: NodeJS.ProcessEnv;
  args: string[];
  cleanup(): Promise<void>;
}

describeIfPostgres('three ingest workers on one PostgreSQL library', () => {
  let fake: FakeOpenAI;
  before(async () => {
    fake = await startFakeOpenAI({ latencyMs: { chat: 2000 } });
  });
  after(() => fake?.close());

  /** A fresh library: its own database and bucket, a staging source of `images` generated images. */
  async function library(images = IMAGES): Promise<Library> {
    const db = await createTestDatabase();
    const s3 = await startS3Server();
    const ws = makeRemoteWorkspace(fake, { provider: 'openai', model: 'text-embedding-3-small', dims: 64, workers: 8 });
    useS3Storage(ws, s3);
    usePostgres(ws, db.url, { lease: `${LEASE_S}s` });
    await writeGeneratedStaging(ws.staging, 'shared', images);
    return {
      ws,
      db,
      s3,
      env: { ...keyEnv('sk-test-workers'), ...s3.env },
      args: ['--config', ws.config, '--json', 'ingest', '--source', 'staging:shared', '--no-lock'],
      async cleanup() {
        await s3.stop();
        await db.drop();
        ws.cleanup();
      },
    };
  }

  async function assertVerifyClean(lib: Library): Promise<void> {
    const verify = await runCli(['--config', lib.ws.config, '--json', 'verify'], { env: lib.env });
    const report = JSON.parse(verify.stdout) as { found: number; issues: unknown[]; totals: { objects: number } };
    assert.equal(report.found, 0, JSON.stringify(report.issues));
    assert.equal(report.totals.objects, IMAGES);
    assert.equal(verify.code, 0, verify.stderr);
  }

  test('started together: the work is shared, every image described once, one meme, object and vector each', async () => {
    const lib = await library();
    try {
      const chatsBefore = fake.requests.length;
      const runs = await Promise.all([0, 1, 2].map(() => runCli(lib.args, { env: lib.env })));
      const summaries = runs.map((r) => {
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout) as RunSummary;
      });
      assert.equal(summaries.reduce((n, s) => n + s.added, 0), IMAGES, JSON.stringify(summaries));
      assert.ok(summaries.every((s) => s.failed === 0 && s.added + s.skipped === IMAGES));
      for (const s of summaries) assert.ok(s.added >= IMAGES / 6, `each worker took a share: ${summaries.map((x) => x.added)}`);

      const calls = chatCallsPerImage({ requests: fake.requests.slice(chatsBefore) });
      assert.equal(calls.size, IMAGES);
      assert.deepEqual([...new Set(calls.values())], [1], 'every image described exactly once');
      assert.deepEqual(await pgLibraryCounts(lib.db.url, COUNTS, 'remote'), EXACT);
      await lib.s3.sync();
      assert.equal(lib.s3.puts.length, IMAGES);
      assert.equal(new Set(lib.s3.puts).size, IMAGES, 'every object stored once');
      await assertVerifyClean(lib);
    } finally {
      await lib.cleanup();
    }
  });

  test('one of three killed with SIGKILL: its images are taken over once its lease runs out; exact counts, verify clean', async () => {
    const lib = await library();
    const client = new pg.Client({ connectionString: lib.db.url });
    try {
      const chatsBefore = fake.requests.length;
      const [victim, ...survivors] = [0, 1, 2].map(() => startCli(lib.args, { env: lib.env }));
      await client.connect();
      // Kill it mid-run, once the workers have committed some images: work is then in every state.
      const committed = async () => Number((await client.query('SELECT count(*) FROM memes').catch(() => ({ rows: [{ count: 0 }] }))).rows[0].count);
      await until(async () => (await committed()) >= 20, 'the workers to commit 20 images');
      const { rows: claims } = await client.query<{ md5: string }>(`SELECT md5 FROM item_claims WHERE owner LIKE $1`, [`%/${victim!.child.pid}/%`]);
      const taken = claims.map((r) => r.md5);
      const { rows } = await client.query<{ now: Date }>('SELECT now()');
      victim!.child.kill('SIGKILL');
      const killedAt = rows[0]!.now.getTime();
      await victim!.done;
      assert.ok(taken.length > 0, 'the victim held images when it died');

      for (const s of survivors) {
        const r = await s.done;
        assert.equal(r.code, 0, r.stderr);
      }
      // A commit clears its image's claims in the same transaction: a victim killed after committing leaves none.
      assert.deepEqual(await pgLibraryCounts(lib.db.url, COUNTS, 'remote'), EXACT);
      // Taken over, not before the lease ran out (the victim renewed it at most a quarter lease before it died);
      // an image it committed itself just before the kill is older than the kill.
      const { rows: held } = await client.query<{ md5: string; created_at: Date }>('SELECT md5, created_at FROM memes WHERE md5 = ANY($1)', [taken]);
      assert.equal(held.length, taken.length, 'every image the victim held is in the library');
      const takenOver = held.filter((m) => m.created_at.getTime() > killedAt);
      assert.ok(takenOver.length > 0, 'some images were taken over');
      for (const m of takenOver) assert.ok(m.created_at.getTime() >= killedAt + LEASE_S * 750, `${m.md5} taken over before the lease ran out`);

      const calls = chatCallsPerImage({ requests: fake.requests.slice(chatsBefore) });
      assert.equal(calls.size, IMAGES);
      const twice = [...calls.values()].filter((n) => n > 1).length;
      assert.ok(twice <= taken.length, `only images the victim was describing when it died are described again (${twice})`);
      await assertVerifyClean(lib);
    } finally {
      await client.end().catch(() => undefined);
      await lib.cleanup();
    }
  });

  test('the cron lock is an advisory lock on the database: a second ingest exits 4 naming the holder', async () => {
    const lib = await library(40);
    try {
      const locked = lib.args.filter((a) => a !== '--no-lock');
      const first = startCli([...locked, '--limit', '30'], { env: lib.env });
      const client = new pg.Client({ connectionString: lib.db.url });
      await client.connect();
      try {
        await until(
          async () => (await client.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).rows.length > 0,
          'the first run to take its lock',
        );
      } finally {
        await client.end();
      }
      const second = await runCli(locked, { env: lib.env });
      assert.equal(second.code, 4, second.stderr);
      assert.match(second.stderr, new RegExp(`another emomo ingest is running on postgres://.*\\(pid ${first.child.pid}, since 20`));
      assert.ok(!second.stderr.includes(new URL(lib.db.url).password), 'no password in the message');
      assert.equal((await first.done).code, 0);
      const third = await runCli([...locked, '--limit', '1'], { env: lib.env });
      assert.equal(third.code, 0, `the lock is free again: ${third.stderr}`);
    } finally {
      await lib.cleanup();
    }
  });
});
