/**
 * `emomo doctor`: the spawned CLI on healthy and broken workspaces, and the
 * service in-process for the finer cases. Secrets must never be printed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { runDoctor, type DoctorReport } from '../../src/health/doctor.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { runCli } from '../helpers/cli.js';
import { FakeDescriber, FakeEmbedder } from '../helpers/fakes.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

function statusOf(report: DoctorReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((c) => [c.check, c.status]));
}

function check(report: DoctorReport, name: string) {
  const found = report.checks.find((c) => c.check === name);
  assert.ok(found, `no check named ${name}`);
  return found;
}

/** Replaces the workspace config's storage section. */
function setStorage(ws: Workspace, yaml: string): void {
  const text = fs.readFileSync(ws.config, 'utf8');
  fs.writeFileSync(ws.config, text.replace(/^storage:\n(?: {2}.*\n)+/m, yaml));
}

/**
 * Answers every request 401 and, like some real services, echoes the
 * credential it received in the error message: the CLI must redact it.
 * HEAD gets 404 so an S3 put goes on to the PUT whose error body echoes the key.
 */
async function startRefusingServer(): Promise<{ url: string; requests: number; close(): Promise<void> }> {
  const state = { requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    req.resume();
    const auth = req.headers.authorization ?? '';
    if (req.method === 'HEAD') {
      res.writeHead(404).end();
    } else if (/\/(embeddings|chat\/completions)$/.test(req.url ?? '')) {
      const key = auth.replace(/^Bearer\s+/i, '');
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${key}`, type: 'invalid_request_error', code: 'invalid_api_key' } }));
    } else {
      const akid = /Credential=([^/]+)/.exec(auth)?.[1] ?? '';
      res.writeHead(401, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0"?><Error><Code>InvalidAccessKeyId</Code><Message>No such key ${akid}; signed with ${auth}</Message></Error>`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('emomo doctor (spawned CLI)', () => {
  let ws: Workspace;
  beforeEach(() => (ws = makeWorkspace()));
  afterEach(() => ws.cleanup());

  test('a healthy local workspace: every check OK, exit 0, one JSON object on stdout', async () => {
    const result = await runCli(['doctor', '--config', ws.config, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as DoctorReport;
    assert.equal(report.ok, true);
    assert.equal(report.config_file, ws.config);
    assert.deepEqual(statusOf(report), {
      config: 'ok',
      database: 'ok',
      storage: 'ok',
      describer: 'ok',
      'embedding:local': 'ok',
      'embedding:second': 'ok',
    });
    assert.match(check(report, 'describer').detail, /local-ocr/);
    assert.match(check(report, 'embedding:second').detail, /128 dims/);
    assert.ok(!fs.existsSync(ws.db), 'doctor does not create the database');
    assert.deepEqual(fs.readdirSync(ws.objects), [], 'the probe object and its folder are gone');
  });

  test('a storage path that cannot be a directory: storage FAIL, hint names storage.path, exit 1, table on stderr', async () => {
    setStorage(ws, `storage:\n  type: local\n  path: ${path.join(ws.config, 'objects')}\n`);
    const result = await runCli(['doctor', '--config', ws.config]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^storage\s+FAIL\s+.*ENOTDIR/m);
    assert.match(result.stderr, /→ ENOTDIR: check that storage\.path \(.*\) is a writable directory/);
    assert.match(result.stderr, /^config\s+OK/m);
    assert.match(result.stderr, /1 check failed/);
  });

  test('S3 storage without its credentials: the hint names the missing variable', async () => {
    setStorage(ws, 'storage:\n  type: s3\n  endpoint: http://127.0.0.1:9\n  bucket: memes\n');
    const env = { STORAGE_ACCESS_KEY: '', STORAGE_SECRET_KEY: '' };
    const result = await runCli(['doctor', '--config', ws.config, '--json'], { env });
    assert.equal(result.code, 1);
    const storage = check(JSON.parse(result.stdout) as DoctorReport, 'storage');
    assert.equal(storage.status, 'fail');
    assert.match(storage.detail, /STORAGE_ACCESS_KEY: must be set/);
    assert.equal(storage.hint, 'set STORAGE_ACCESS_KEY in the environment');
  });

  describe('against a server that answers 401 and echoes the credentials', () => {
    let server: Awaited<ReturnType<typeof startRefusingServer>>;
    before(async () => (server = await startRefusingServer()));
    after(async () => server.close());

    test('no secret reaches stdout or stderr; the variable names do', async () => {
      const secrets = {
        STORAGE_ACCESS_KEY: 'AKIDDOCTORLEAKCHECK7',
        STORAGE_SECRET_KEY: 'storage-secret-DOCTOR-leak-check-value',
        EMOMO_TEST_EMBED_KEY: 'sk-doctor-leak-check-0123456789abcdef',
        EMOMO_TEST_VLM_KEY: 'vlm-key-DOCTOR-leak-check-42',
      };
      setStorage(ws, `storage:\n  type: s3\n  endpoint: ${server.url}\n  bucket: memes\n  force_path_style: true\n`);
      // A remote describer, and a remote embedding next to the local ones.
      fs.appendFileSync(
        ws.config,
        `vlm:\n  provider: openai\n  model: gpt-4o-mini\n  base_url: ${server.url}/v1\n  api_key_env: EMOMO_TEST_VLM_KEY\n`,
      );
      const text = fs.readFileSync(ws.config, 'utf8').replace(
        /^embeddings:\n/m,
        `embeddings:\n  - name: remote\n    provider: openai\n    model: text-embedding-3-small\n    base_url: ${server.url}/v1\n` +
          `    api_key_env: EMOMO_TEST_EMBED_KEY\n    dimensions: 64\n    collection: remote\n`,
      );
      fs.writeFileSync(ws.config, text);
      const before = server.requests;
      for (const args of [['doctor', '--config', ws.config, '--json'], ['doctor', '--config', ws.config, '--verbose']]) {
        const result = await runCli(args, { env: secrets });
        assert.equal(result.code, 1, result.stderr);
        const output = result.stdout + result.stderr;
        for (const [name, value] of Object.entries(secrets)) assert.ok(!output.includes(value), `${name}'s value was printed`);
        assert.match(output, /HTTP 401: check the key in STORAGE_ACCESS_KEY and STORAGE_SECRET_KEY/);
        assert.match(output, /HTTP 401: check the key in EMOMO_TEST_EMBED_KEY/);
        assert.match(output, /HTTP 401: check the key in EMOMO_TEST_VLM_KEY/);
      }
      assert.ok(server.requests > before, 'the checks really reached the server');
    });
  });
});

describe('doctor service (in-process)', () => {
  let ws: Workspace;
  beforeEach(() => (ws = makeWorkspace()));
  afterEach(() => ws.cleanup());
  const overrides = () => ({ describer: new FakeDescriber(), embedder: () => new FakeEmbedder(256) });

  test('an invalid config: config FAIL naming file and key, the rest SKIP', async () => {
    fs.appendFileSync(ws.config, 'ingest:\n  workerz: 4\n');
    const report = await runDoctor({ configPath: ws.config, env: {}, timeoutMs: 5000, overrides: overrides() });
    assert.equal(report.ok, false);
    const config = check(report, 'config');
    assert.equal(config.status, 'fail');
    assert.ok(config.detail.includes(ws.config) && config.detail.includes('ingest.workerz'), config.detail);
    assert.match(config.hint ?? '', /fix ingest\.workerz in /);
    assert.ok(report.checks.slice(1).every((c) => c.status === 'skip'));
  });

  test('a collection whose stored dimension disagrees with the config is a database FAIL', async () => {
    const store = new SqliteStore(ws.db);
    await store.ensureCollection('emomo-local', 64, 'old-model');
    await store.ensureCollection('second', 128, 'm');
    await store.close();
    const report = await runDoctor({ configPath: ws.config, env: {}, timeoutMs: 5000, overrides: { describer: new FakeDescriber(), embedder: (e) => new FakeEmbedder(e.dimensions) } });
    const db = check(report, 'database');
    assert.equal(db.status, 'fail');
    assert.match(db.detail, /collection "emomo-local" stores 64 dims but embedding "local" is configured with 256/);
    assert.match(db.hint ?? '', /fix dimensions in /);
    assert.equal(report.ok, false);
  });

  test('an existing database reports its schema version and collections', async () => {
    const store = new SqliteStore(ws.db);
    await store.ensureCollection('emomo-local', 256, 'm');
    await store.close();
    const report = await runDoctor({ configPath: ws.config, env: {}, timeoutMs: 5000, overrides: { describer: new FakeDescriber(), embedder: (e) => new FakeEmbedder(e.dimensions) } });
    assert.equal(report.ok, true, JSON.stringify(report.checks));
    assert.match(check(report, 'database').detail, /schema v\d+, 0 memes; emomo-local 256d/);
  });

  test('an embedder returning the wrong dimension: FAIL with a "wrong dimension" hint', async () => {
    const wrong = new FakeEmbedder(256);
    wrong.wrongDims = true;
    const report = await runDoctor({ configPath: ws.config, env: {}, timeoutMs: 5000, overrides: { describer: new FakeDescriber(), embedder: () => wrong } });
    const local = check(report, 'embedding:local');
    assert.equal(local.status, 'fail');
    assert.match(local.detail, /returned 257 dimensions, the config says 256/);
    assert.match(local.hint ?? '', /^wrong dimension/);
  });

  test('a check that hangs fails at the deadline instead of stalling the doctor', async () => {
    const hanging = { model: 'hang', promptVersion: '1', describe: () => new Promise<never>(() => undefined) };
    const started = Date.now();
    const report = await runDoctor({ configPath: ws.config, env: {}, timeoutMs: 300, overrides: { describer: hanging, embedder: (e) => new FakeEmbedder(e.dimensions) } });
    assert.ok(Date.now() - started < 3000);
    assert.equal(check(report, 'describer').status, 'fail');
    assert.match(check(report, 'describer').detail, /timed out after 300 ms/);
  });
});
