/**
 * Where the library lives: --db, database.url (or EMOMO_DATABASE_URL) and
 * database.path pick the backend; a database URL's password never shows.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { databaseLabel, databaseLocation, storeOpener } from '../../src/store/open-store.js';
import { runCli } from '../helpers/cli.js';
import { makeWorkspace } from '../helpers/workspace.js';

const URL_WITH_PASSWORD = 'postgres://emomo:s3cr3t-pw@db.example.com:5432/emomo';

test('--db wins, then database.url (EMOMO_DATABASE_URL over the file), then database.path', () => {
  const ws = makeWorkspace();
  try {
    const plain = loadConfig(ws.config, {});
    assert.deepEqual(databaseLocation(plain), { kind: 'sqlite', path: ws.db });
    assert.deepEqual(databaseLocation(plain, 'other.db'), { kind: 'sqlite', path: 'other.db' });
    assert.deepEqual(databaseLocation(plain, URL_WITH_PASSWORD), { kind: 'postgres', url: URL_WITH_PASSWORD });

    fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('database:\n', 'database:\n  url: postgres://file-host/emomo\n'));
    const withUrl = loadConfig(ws.config, {});
    assert.deepEqual(databaseLocation(withUrl), { kind: 'postgres', url: 'postgres://file-host/emomo' });
    assert.deepEqual(databaseLocation(withUrl, 'local.db'), { kind: 'sqlite', path: 'local.db' }, '--db FILE still wins');
    const fromEnv = loadConfig(ws.config, { EMOMO_DATABASE_URL: URL_WITH_PASSWORD });
    assert.deepEqual(databaseLocation(fromEnv), { kind: 'postgres', url: URL_WITH_PASSWORD });

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

test('a database URL is shown without its password; PostgreSQL is refused clearly until its adapter lands', async () => {
  const location = { kind: 'postgres' as const, url: URL_WITH_PASSWORD };
  assert.equal(databaseLabel(location), 'postgres://emomo:***@db.example.com:5432/emomo');
  assert.throws(() => storeOpener(location), /PostgreSQL libraries are not available in this emomo yet/);

  const ws = makeWorkspace();
  try {
    const run = await runCli(['stats', '--config', ws.config, '--db', URL_WITH_PASSWORD]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /not available in this emomo yet/);
    assert.ok(!run.stderr.includes('s3cr3t-pw'), run.stderr);
    assert.ok(!fs.existsSync(ws.db), 'no SQLite file was created instead');
  } finally {
    ws.cleanup();
  }
});
