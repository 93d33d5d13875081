/**
 * `emomo migrate --to postgres://…` as an operator runs it: the sample
 * library (offline OCR descriptions, two collections, a failed job,
 * perceptual hashes, a duplicate's alias and a template-variant link) moves
 * from SQLite into a fresh PostgreSQL database with every count equal, not
 * one provider call, the same top result for every sample caption on both
 * sides, and `verify` on the target agreeing with the source. Killed with
 * SIGKILL halfway and run again, the move still ends exact.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { MigrateSummary } from '../../src/pipeline/migrate-service.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { runCli, startCli } from '../helpers/cli.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { FakeDescriber, FakeEmbedder } from '../helpers/fakes.js';
import { writeGeneratedStaging } from '../helpers/generated-images.js';
import { createTestDatabase, describeIfPostgres, usePostgres, type TestDatabase } from '../helpers/postgres.js';
import { recallInProcess } from '../helpers/recall-json.js';
import { keyEnv, VLM_KEY_ENV } from '../helpers/remote-workspace.js';
import { runIngest } from '../helpers/run-ingest.js';
import { copySample, makeWorkspace, sampleEntries, type Workspace } from '../helpers/workspace.js';

const samples = sampleEntries();
/** An image remembered as a duplicate of the first sample (as `ingest --skip-duplicates` records one). */
const ALIAS = 'a1'.repeat(16);

/** A copy of a workspace's config with the library in PostgreSQL instead. */
function postgresConfig(ws: Workspace, url: string, name: string): string {
  const file = path.join(ws.dir, name);
  fs.copyFileSync(ws.config, file);
  usePostgres({ config: file }, url);
  return file;
}

async function verifyJson(config: string) {
  const run = await runCli(['--config', config, '--json', 'verify']);
  return JSON.parse(run.stdout) as { found: number; issues: unknown[]; totals: Record<string, number> };
}

describeIfPostgres('emomo migrate', () => {
  let fake: FakeOpenAI;
  let ws: Workspace;
  let db: TestDatabase;
  before(async () => {
    fake = await startFakeOpenAI();
    ws = makeWorkspace();
    copySample(ws);
    // One line the ingest cannot read: its failed job moves too.
    fs.appendFileSync(path.join(ws.staging, 'sample', 'manifest.jsonl'), '{"id":"gone","filename":"gone.png","category":"猫猫","tags":[]}\n');
    const ingest = await runCli(['--config', ws.config, '--json', 'ingest', '--source', 'staging:sample']);
    assert.equal(ingest.code, 1, ingest.stderr);
    const embed = await runCli(['--config', ws.config, 'embed', '--embedding', 'second']);
    assert.equal(embed.code, 0, embed.stderr);
    const store = new SqliteStore(ws.db);
    try {
      const [first, second] = await Promise.all(samples.slice(0, 2).map(async (s) => (await store.findMemeByMd5(s.md5))!.id));
      assert.equal(await store.addAlias(ALIAS, first!, 'ingest --skip-duplicates'), true);
      assert.equal(await store.linkVariants([{ templateId: first!, memberIds: [second!] }]), 1);
    } finally {
      await store.close();
    }
    db = await createTestDatabase();
  });
  after(async () => {
    await fake?.close();
    await db?.drop();
    ws?.cleanup();
  });

  test('the sample library: counts equal, no provider call, the same top result for every caption, verify agrees', async () => {
    // Providers that would answer (and be counted) if migrate called any.
    const remote = path.join(ws.dir, 'remote.yaml');
    fs.writeFileSync(
      remote,
      fs.readFileSync(ws.config, 'utf8') + `vlm:\n  provider: openai\n  model: fake-vlm\n  base_url: ${fake.baseURL}\n  api_key_env: ${VLM_KEY_ENV}\n`,
    );
    const run = await runCli(['--config', remote, '--json', 'migrate', '--to', db.url], { env: keyEnv('sk-test-migrate') });
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as MigrateSummary;
    assert.deepEqual(summary.target, summary.source);
    assert.deepEqual(summary.copied, summary.source, 'everything copied by this one run');
    assert.deepEqual(summary.short, []);
    assert.deepEqual(
      { memes: summary.source.memes, collections: summary.source.collections, vectors: summary.source.vectors, jobs: summary.source.jobs },
      { memes: samples.length, collections: 2, vectors: 2 * samples.length, jobs: 1 },
    );
    assert.deepEqual([summary.source.picture_hashes, summary.source.aliases, summary.source.variants], [samples.length, 1, 1], 'picture data moved too');
    const target = new PostgresStore(db.url, { label: db.name });
    try {
      assert.equal(await target.aliasOf(ALIAS), (await target.findMemeByMd5(samples[0]!.md5))!.id, 'the alias names the same meme there');
    } finally {
      await target.close();
    }
    assert.equal(fake.requests.length, 0, 'no provider was called');
    assert.ok(!run.stderr.includes(new URL(db.url).password), 'the password never shows');

    const onPostgres = postgresConfig(ws, db.url, 'postgres.yaml');
    const misses: string[] = [];
    for (const s of samples) {
      const [a, b] = await Promise.all([ws.config, onPostgres].map((config) => recallInProcess(config, s.caption, { mode: 'hybrid', topK: 3 })));
      const tops = [a!.json.results[0]?.md5, b!.json.results[0]?.md5];
      if (tops[0] !== tops[1] || tops[0] !== s.md5) misses.push(`${s.caption}: SQLite ${tops[0]}, PostgreSQL ${tops[1]}`);
    }
    assert.deepEqual(misses, []);

    const [sqlite, postgres] = await Promise.all([verifyJson(ws.config), verifyJson(onPostgres)]);
    assert.equal(postgres.found, 0, JSON.stringify(postgres.issues));
    assert.equal(sqlite.found, 0, JSON.stringify(sqlite.issues));
    assert.deepEqual(postgres.totals, sqlite.totals);

    const again = await runCli(['--config', ws.config, '--json', 'migrate', '--to', db.url]);
    const second = JSON.parse(again.stdout) as MigrateSummary;
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      [second.copied.memes, second.copied.vectors, second.copied.descriptions, second.copied.picture_hashes, second.copied.aliases, second.copied.variants, second.target],
      [0, 0, 0, 0, 0, 0, summary.target],
      'idempotent',
    );
  });

  test('killed with SIGKILL halfway and run again: still exact', async () => {
    const big = makeWorkspace();
    const target = await createTestDatabase();
    const client = new pg.Client({ connectionString: target.url });
    try {
      await writeGeneratedStaging(big.staging, 'gen', 400);
      const built = await runIngest(big, { source: 'staging:gen' }, { describer: new FakeDescriber(), embedder: () => new FakeEmbedder(256) });
      assert.equal(built.summary.added, 400, built.log);

      const args = ['--config', big.config, '--json', 'migrate', '--to', target.url, '--batch-size', '10'];
      const victim = startCli(args);
      await client.connect();
      const memes = async () => Number((await client.query('SELECT count(*) FROM memes').catch(() => ({ rows: [{ count: 0 }] }))).rows[0].count);
      const deadline = Date.now() + 120_000;
      while ((await memes()) < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      victim.child.kill('SIGKILL');
      const killed = await victim.done;
      assert.equal(killed.signal, 'SIGKILL', `the first run was still moving when it was killed: ${killed.stdout}`);
      const partial = await memes();
      assert.ok(partial >= 50 && partial < 400, `killed with ${partial} memes moved`);

      const rerun = await runCli(args);
      assert.equal(rerun.code, 0, rerun.stderr);
      const summary = JSON.parse(rerun.stdout) as MigrateSummary;
      assert.deepEqual(summary.target, summary.source);
      assert.equal(summary.source.memes, 400);
      assert.equal(summary.copied.memes, 400 - partial, 'the re-run copied only what was missing');
      const verify = await verifyJson(postgresConfig(big, target.url, 'postgres.yaml'));
      assert.equal(verify.found, 0, JSON.stringify(verify.issues));
    } finally {
      await client.end().catch(() => undefined);
      await target.drop();
      big.cleanup();
    }
  });
});
