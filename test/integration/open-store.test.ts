/**
 * Where the library lives: --db, database.url (or EMOMO_DATABASE_URL) and
 * database.path pick the backend; a database URL's password never shows.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { databaseLabel, databaseLocation, storeOpener } from '../../src/store/open-store.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { runCli } from '../helpers/cli.js';
import { makeWorkspace, projectRoot } from '../helpers/workspace.js';

const execFileAsync = promisify(execFile);
const URL_WITH_PASSWORD = 'postgres://emomo:s3cr3t-pw@db.example.com:5432/emomo';

test('--db wins, then database.url (EMOMO_DATABASE_URL over the file), then database.path', () => {
  const ws = makeWorkspace();
  try {
    const plain = loadConfig(ws.config, {});
    assert.deepEqual(databaseLocation(plain), { kind: 'sqlite', path: ws.db });
    assert.deepEqual(databaseLocation(plain, 'other.db'), { kind: 'sqlite', path: 'other.db' });
    assert.deepEqual(databaseLocation(plain, URL_WITH_PASSWORD), { kind: 'postgres', url: URL_WITH_PASSWORD, poolSize: 10 });

    fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('database:\n', 'database:\n  url: postgres://file-host/emomo\n'));
    const withUrl = loadConfig(ws.config, {});
    assert.deepEqual(databaseLocation(withUrl), { kind: 'postgres', url: 'postgres://file-host/emomo', poolSize: 10 });
    assert.deepEqual(databaseLocation(withUrl, 'local.db'), { kind: 'sqlite', path: 'local.db' }, '--db FILE still wins');
    const fromEnv = loadConfig(ws.config, { EMOMO_DATABASE_URL: URL_WITH_PASSWORD });
    assert.deepEqual(databaseLocation(fromEnv), { kind: 'postgres', url: URL_WITH_PASSWORD, poolSize: 10 });

    assert.throws(() => loadConfig(ws.config, { EMOMO_DATABASE_URL: 'mysql://x' }), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /database\.url: EMOMO_DATABASE_URL does not hold a postgres:\/\/ URL/);
      return true;
    });
    fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('postgres://file-host/emomo', 'http://nope'));
    assert.throws(() => loadConfig(ws.config, {}), /database\.url: expected a PostgreSQL URL/);
  } finally {
    ws.cleanup();
  }
});

test('a database URL is shown without its password, in messages too; an unreachable server is a config error (exit 2)', async () => {
  const location = { kind: 'postgres' as const, url: URL_WITH_PASSWORD };
  assert.equal(databaseLabel(location), 'postgres://emomo:***@db.example.com:5432/emomo');
  assert.ok(storeOpener(location)() instanceof PostgresStore);

  const ws = makeWorkspace();
  try {
    const run = await runCli(['stats', '--config', ws.config, '--db', 'postgres://emomo:s3cr3t-pw@127.0.0.1:1/emomo']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /cannot connect to postgres:\/\/emomo:\*\*\*@127\.0\.0\.1:1\/emomo/);
    assert.ok(!run.stderr.includes('s3cr3t-pw'), run.stderr);
    assert.ok(!fs.existsSync(ws.db), 'no SQLite file was created instead');
  } finally {
    ws.cleanup();
  }
});

test('the PostgreSQL driver is loaded only when a PostgreSQL library is used', async () => {
  // `pg` is CommonJS: once loaded, it sits in the CommonJS module cache.
  const probe = `
    const { createRequire } = await import('node:module');
    const { buildProgram } = await import('./src/cli/main.ts');
    const { program } = buildProgram();
    program.exitOverride().configureOutput({ writeOut: () => {} });
    try { await program.parseAsync(['node', 'emomo', '--help']); } catch {}
    const cache = createRequire(import.meta.url).cache;
    console.log(Object.keys(cache).filter((f) => /[\\/]node_modules[\\/]pg[\\/]/.test(f)).length);`;
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { cwd: projectRoot });
  assert.equal(stdout.trim(), '0');
});
