/**
 * On PostgreSQL, verify walks the memes through one server-side cursor held
 * on the run's connection (WITH HOLD: no transaction stays open while objects
 * are read), a page per FETCH, over a library several pages long; a request
 * that does not continue the walk starts a new cursor after the id it names;
 * ending the run leaves no cursor on the pooled connection. A deep verify and
 * a repair of the same damaged library find the same as on SQLite.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { verifyLibrary, type VerifyReport } from '../../src/pipeline/verify-service.js';
import { LocalStorage } from '../../src/storage/local-storage.js';
import { objectKey } from '../../src/storage/object-key.js';
import { PgPool } from '../../src/store/postgres/connection.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { PgVerifyQueries } from '../../src/store/postgres/verify-queries.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { generatedMd5, generateLibrary } from '../helpers/library-generator.js';
import { describeIfPostgres } from '../helpers/postgres.js';
import { STORE_BACKENDS, type LibraryCopy } from '../helpers/store-backends.js';

const MEMES = 1_100;
/** The content check's page size (src/pipeline/object-content.ts): the library is several pages long. */
const CONTENT_PAGE = 200;
const LOST = [7, 550, 1_090];
const OVERWRITTEN = [250, 901];

describeIfPostgres('verify on PostgreSQL reads through a server-side cursor', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-verify-cursor-'));
  const objects = path.join(dir, 'objects');
  const file = (i: number) => path.join(objects, objectKey(generatedMd5(i), 'png'));
  let sqliteFile: string;
  let copy: LibraryCopy;

  before(async () => {
    sqliteFile = generateLibrary({ db: path.join(dir, 'emomo.db'), objects, memes: MEMES, dims: 16, ownBytes: true }).db;
    for (const i of LOST) fs.rmSync(file(i));
    for (const i of OVERWRITTEN) fs.writeFileSync(file(i), `overwritten ${i}`);
    copy = await STORE_BACKENDS.find((b) => b.name === 'PostgreSQL')!.copyOf(sqliteFile);
  });
  after(async () => {
    await copy?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('one holdable cursor serves every page of a walk, outside any transaction; a jump starts a new one; ending the run closes it', async () => {
    const pool = new PgPool(copy.db, { size: 1, settings: {} });
    const observer = new pg.Client({ connectionString: copy.db });
    await observer.connect();
    const run = new PgVerifyQueries(pool);
    try {
      await run.begin();
      const { rows: keys } = await run.client.query<{ storage_key: string }>('SELECT storage_key FROM memes');
      const lostKeys = new Set(LOST.map((i) => objectKey(generatedMd5(i), 'png')));
      await run.addListedObjects(keys.map((k) => k.storage_key).filter((k) => !lostKeys.has(k)));
      const pid = (await run.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const cursors = async () =>
        (await run.client.query<{ name: string; is_holdable: boolean; created: string }>(
          'SELECT name, is_holdable, creation_time::text AS created FROM pg_cursors ORDER BY name',
        )).rows;

      const walked: number[] = [];
      const seen = new Set<string>();
      for (let afterId = 0; ; ) {
        const page = await run.memesWithObject(afterId, CONTENT_PAGE);
        if (page.length === 0) break;
        walked.push(...page.map((m) => m.id));
        afterId = page[page.length - 1]!.id;
        const open = await cursors();
        assert.deepEqual(open.map((c) => [c.name, c.is_holdable]), [['verify_memes_with_object', true]], `after meme ${afterId}`);
        seen.add(open[0]!.created);
        const { rows } = await observer.query<{ state: string }>('SELECT state FROM pg_stat_activity WHERE pid = $1', [pid]);
        assert.equal(rows[0]!.state, 'idle', 'between pages the run holds no transaction');
      }
      const expected = Array.from({ length: MEMES }, (_, i) => i + 1).filter((i) => !LOST.includes(i));
      assert.deepEqual(walked, expected);
      assert.equal(seen.size, 1, 'every page came from the same cursor');
      assert.deepEqual(await cursors(), [], 'the cursor is closed once the walk runs out');

      // Not the page after the last one: a new cursor after the id asked for, the old one closed.
      assert.deepEqual((await run.memesWithObject(0, 3)).map((m) => m.id), [1, 2, 3]);
      const first = (await cursors())[0]!.created;
      assert.deepEqual((await run.memesWithObject(500, 3)).map((m) => m.id), [501, 502, 503]);
      const open = await cursors();
      assert.equal(open.length, 1);
      assert.notEqual(open[0]!.created, first);

      const lost = [await run.memesWithoutObject(0, 2), await run.memesWithoutObject(550, 2), await run.memesWithoutObject(1_090, 2)];
      assert.deepEqual(lost.map((page) => page.map((m) => m.id)), [[7, 550], [1_090], []]);
      assert.deepEqual(lost[0]![0]!.sources, [{ sourceType: 'staging:generated', sourceId: 'g7' }]);

      // A walk left half done: ending the run closes its cursor before the connection goes back to the pool.
      await run.end();
      const { rows: left } = await pool.query('SELECT name FROM pg_cursors');
      assert.deepEqual(left, []);
    } finally {
      await run.end();
      await observer.end();
      await pool.end();
    }
  });

  test('a deep verify finds the same on PostgreSQL as on SQLite, every object read following a FETCH from the cursor; so does a repair', async () => {
    const findings = (r: VerifyReport) => ({
      found: r.found,
      issues: r.issues.map((i) => ({ kind: i.kind, count: i.count, examples: [...i.examples].sort() })),
      totals: r.totals,
    });
    const options = { repair: false, deep: true, examples: 10 };

    const sqlite = new SqliteStore(sqliteFile);
    const fromSqlite = await verifyLibrary(sqlite, new LocalStorage(objects), options).finally(() => sqlite.close());

    const observer = new pg.Client({ connectionString: copy.db });
    await observer.connect();
    const lastStatements: string[] = [];
    class Observed extends LocalStorage {
      override async get(key: string): Promise<Buffer> {
        const { rows } = await observer.query<{ query: string }>(
          `SELECT query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%verify_memes%'`,
        );
        lastStatements.push(...rows.map((r) => r.query));
        return super.get(key);
      }
    }
    const store = new PostgresStore(copy.db, { label: 'verify-cursor' });
    try {
      const fromPostgres = await verifyLibrary(store, new Observed(objects), options);
      assert.deepEqual(findings(fromPostgres), findings(fromSqlite));
      assert.deepEqual(
        Object.fromEntries(fromPostgres.issues.map((i) => [i.kind, i.count])),
        { meme_without_object: LOST.length, object_content_mismatch: OVERWRITTEN.length },
      );
      assert.equal(lastStatements.length, MEMES - LOST.length, 'the run connection was seen at every object read');
      assert.deepEqual([...new Set(lastStatements)], [`FETCH ${CONTENT_PAGE} FROM verify_memes_with_object`]);

      // The repair walks the memes whose object is lost (through the other cursor) and removes them, on both backends alike.
      const repair = { repair: true, examples: 10 };
      const repaired = (r: VerifyReport) => ({ ...findings(r), repaired: r.repaired, remaining: r.remaining, after: r.totals_after_repair });
      const sqliteAgain = new SqliteStore(sqliteFile);
      const sqliteRepair = await verifyLibrary(sqliteAgain, new LocalStorage(objects), repair).finally(() => sqliteAgain.close());
      const postgresRepair = await verifyLibrary(store, new LocalStorage(objects), repair);
      assert.deepEqual(repaired(postgresRepair), repaired(sqliteRepair));
      assert.equal(postgresRepair.totals_after_repair?.memes, MEMES - LOST.length);
      assert.deepEqual(postgresRepair.remaining, []);
    } finally {
      await store.close();
      await observer.end();
    }
  });
});
