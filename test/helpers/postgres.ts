/**
 * PostgreSQL for tests: a fresh, empty database with pgvector on the server
 * named by EMOMO_TEST_PG_URL (scripts/ci-postgres.sh starts one and prints
 * its URL). Without the URL the PostgreSQL suites are skipped with one line
 * saying how to enable them; under CI they fail instead, since CI always
 * runs them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { pgVecTableName } from '../../src/store/postgres/vector-tables.js';

const serverUrl = process.env.EMOMO_TEST_PG_URL || undefined;
const onCi = !!process.env.CI && !/^(0|false)$/i.test(process.env.CI);
const HOW_TO_ENABLE =
  'set EMOMO_TEST_PG_URL=postgres://user:password@host:port/postgres (`scripts/ci-postgres.sh` starts a local server and prints it; see docs/postgres.md)';

/** Test databases are named emomo_test_<creation time, base 36>_<random>. */
const PREFIX = 'emomo_test_';
/** A test database older than this was left behind by a killed run. */
const ABANDONED_MS = 6 * 3600_000;

/** Why the PostgreSQL tests cannot run here (no server configured, not under CI); undefined when they run. */
export function postgresSkipReason(): string | undefined {
  return serverUrl || onCi ? undefined : `PostgreSQL tests skipped: ${HOW_TO_ENABLE}`;
}

/** `describe`, or one skip line when no server is configured (one failure under CI). */
export function describeIfPostgres(name: string, fn: () => void): void {
  if (serverUrl) describe(name, fn);
  else if (onCi)
    describe(name, () => {
      test('a PostgreSQL server is configured', () => assert.fail(`CI runs the PostgreSQL tests: ${HOW_TO_ENABLE}`));
    });
  else describe(name, { skip: `PostgreSQL tests skipped: ${HOW_TO_ENABLE}` }, fn);
}

async function withServer<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  if (!serverUrl) throw new Error(`no PostgreSQL server: ${HOW_TO_ENABLE}`);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const dropDatabase = (c: pg.Client, name: string) =>
  c.query(`DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`);

export interface TestDatabase {
  name: string;
  /** Connection URL of the database (the server's URL with its name). */
  url: string;
  /** Drops the database, ending any connection still open to it. */
  drop(): Promise<void>;
}

/** Creates an empty database with the vector extension; also drops test databases abandoned by killed runs. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `${PREFIX}${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await withServer(async (c) => {
    const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [PREFIX]);
    const abandoned = rows.map((r) => r.datname).filter((d) => Date.now() - parseInt(d.split('_')[2] ?? '', 36) > ABANDONED_MS);
    for (const db of abandoned) await dropDatabase(c, db);
    await c.query(`CREATE DATABASE ${name}`);
  });
  const url = new URL(serverUrl!);
  url.pathname = `/${name}`;
  const db: TestDatabase = { name, url: url.toString(), drop: () => withServer(async (c) => void (await dropDatabase(c, name))) };
  const client = new pg.Client({ connectionString: db.url });
  try {
    await client.connect();
    await client.query('CREATE EXTENSION vector');
  } catch (error) {
    await db.drop();
    throw error;
  } finally {
    await client.end();
  }
  return db;
}

export interface SuiteDatabase {
  /** Connection URL of the suite's database (available from the suite's `before` on). */
  readonly url: string;
  /** A client connected to it; ended after the suite unless the test ended it. */
  connect(): Promise<pg.Client>;
}

/** A fresh database for the calling suite: created before its tests, dropped after them. */
export function useTestDatabase(): SuiteDatabase {
  let db: TestDatabase | undefined;
  const clients = new Set<pg.Client>();
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await Promise.all([...clients].map((c) => c.end().catch(() => undefined)));
    await db?.drop();
  });
  return {
    get url() {
      if (!db) throw new Error('the test database exists only from the suite’s before hook on');
      return db.url;
    },
    async connect() {
      const client = new pg.Client({ connectionString: this.url });
      await client.connect();
      clients.add(client);
      client.once('end', () => clients.delete(client));
      return client;
    },
  };
}

/** Points a workspace's config at a PostgreSQL library (instead of its SQLite file), with the given `database` keys. */
export function usePostgres(ws: { config: string }, url: string, extra: Record<string, string> = {}): void {
  const text = fs.readFileSync(ws.config, 'utf8');
  const keys = Object.entries({ url, ...extra }).map(([k, v]) => `  ${k}: ${v}\n`).join('');
  const replaced = text.replace(/^database:\n(?: {2}.*\n)+/m, `database:\n${keys}`);
  if (replaced === text) throw new Error('workspace config has no database section to replace');
  fs.writeFileSync(ws.config, replaced);
}

const PG_COUNTS = {
  memes: 'SELECT count(*) FROM memes',
  md5s: 'SELECT count(DISTINCT md5) FROM memes',
  sources: 'SELECT count(*) FROM meme_sources',
  vectors: 'SELECT count(*) FROM meme_vectors',
  descriptions: 'SELECT count(*) FROM meme_descriptions',
  fts: 'SELECT count(*) FROM meme_keywords',
  jobs: 'SELECT count(*) FROM jobs',
  openJobs: "SELECT count(*) FROM jobs WHERE status <> 'done'",
  claims: 'SELECT count(*) FROM item_claims',
} as const;

/** Row counts of a PostgreSQL library, named as test/helpers/library.ts names them; `vec` counts a collection's vector table. */
export async function pgLibraryCounts<K extends keyof typeof PG_COUNTS | 'vec'>(url: string, keys: readonly K[], collection = 'emomo-local'): Promise<Record<K, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out = {} as Record<K, number>;
    for (const key of keys) {
      const sql = key === 'vec' ? `SELECT count(*) FROM "${pgVecTableName(collection)}"` : PG_COUNTS[key as keyof typeof PG_COUNTS];
      out[key] = Number((await client.query<{ count: string }>(sql)).rows[0]!.count);
    }
    return out;
  } finally {
    await client.end();
  }
}
