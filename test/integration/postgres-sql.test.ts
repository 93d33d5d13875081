/**
 * Each PostgreSQL feature the PostgreSQL store relies on, proved against the
 * real server (EMOMO_TEST_PG_URL), so a broken server setup fails here by
 * name: pgvector's halfvec HNSW index with iterative scans, jsonb tags under
 * GIN, keyword search over emomo's own segmentation, work claims with
 * FOR UPDATE SKIP LOCKED under leases, and advisory locks.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type pg from 'pg';
import { indexTerms, queryTerms } from '../../src/store/fts-terms.js';
import { describeIfPostgres, useTestDatabase } from '../helpers/postgres.js';
import { projectRoot } from '../helpers/workspace.js';

/** The plan PostgreSQL picks for a query, as text. */
async function plan(c: pg.Client, sql: string, params: unknown[] = []): Promise<string> {
  const { rows } = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

/** A tsquery matching any of the terms; each is a quoted lexeme, so no input is tsquery syntax. */
const anyTerm = (terms: string[]) => terms.map((t) => `'${t.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`).join(' | ');

describeIfPostgres('PostgreSQL features the PostgreSQL store relies on', () => {
  const db = useTestDatabase();

  test('the server is PostgreSQL 15 or newer with pgvector 0.8 or newer (halfvec, HNSW, iterative index scans)', async () => {
    const c = await db.connect();
    const { rows } = await c.query<{ server: number; vector: string }>(
      `SELECT current_setting('server_version_num')::int AS server, extversion AS vector FROM pg_extension WHERE extname = 'vector'`,
    );
    assert.ok(rows[0]!.server >= 150000, `server ${rows[0]!.server}`);
    const [major, minor] = rows[0]!.vector.split('.').map(Number);
    assert.ok(major! > 0 || minor! >= 8, `pgvector ${rows[0]!.vector}`);
  });

  test('halfvec(1024) under HNSW (cosine): a filtered top-k returns k only with iterative index scans', async () => {
    const c = await db.connect();
    await c.query(`CREATE TABLE vec (id int PRIMARY KEY, category text NOT NULL, embedding halfvec(1024) NOT NULL)`);
    // 1,000 random directions; every 50th row is 'rare' (2%).
    await c.query(`INSERT INTO vec SELECT i, CASE WHEN i % 50 = 0 THEN 'rare' ELSE 'common' END,
      (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, 1024) WHERE i > 0)::halfvec(1024)
      FROM generate_series(1, 1000) i`);
    await c.query(`CREATE INDEX vec_embedding ON vec USING hnsw (embedding halfvec_cosine_ops)`);
    const { rows: probe } = await c.query<{ v: string }>(`SELECT embedding::text AS v FROM vec WHERE id = 500`);
    const topK = `SELECT id, category FROM vec WHERE category = 'rare' ORDER BY embedding <=> $1::halfvec(1024) LIMIT 10`;
    await c.query(`SET enable_seqscan = off`); // a table this small would otherwise be scanned and sorted
    await c.query(`SET hnsw.ef_search = 40`);
    assert.match(await plan(c, topK, [probe[0]!.v]), /Index Scan using vec_embedding/);

    // The index yields ef_search candidates, of which about 2% pass the filter.
    const plain = await c.query<{ id: number; category: string }>(topK, [probe[0]!.v]);
    assert.ok(plain.rows.length < 10, `without iterative scans: ${plain.rows.length} rows`);

    await c.query(`SET hnsw.iterative_scan = relaxed_order`);
    const iterative = await c.query<{ id: number; category: string }>(topK, [probe[0]!.v]);
    assert.equal(iterative.rows.length, 10, 'iterative scans keep searching until k rows pass the filter');
    assert.equal(iterative.rows[0]!.id, 500, 'the probe finds itself first');
    assert.ok(iterative.rows.every((r) => r.category === 'rare'));
  });

  test('jsonb tags: @> filters on whole tags, through a GIN index', async () => {
    const c = await db.connect();
    await c.query(`CREATE TABLE tagged (id int PRIMARY KEY, tags jsonb NOT NULL)`);
    const tagsOf = (i: number) => (i % 50 === 0 ? ['开心', '猫'] : i % 7 === 0 ? ['开心'] : ['难过']);
    const ids = Array.from({ length: 1000 }, (_, i) => i + 1);
    await c.query(`INSERT INTO tagged SELECT * FROM unnest($1::int[], $2::jsonb[])`, [ids, ids.map((i) => JSON.stringify(tagsOf(i)))]);
    await c.query(`CREATE INDEX tagged_tags ON tagged USING gin (tags)`);
    await c.query(`SET enable_seqscan = off`);
    const filter = `SELECT id FROM tagged WHERE tags @> $1::jsonb ORDER BY id`;
    assert.match(await plan(c, filter, ['["开心"]']), /Bitmap Index Scan on tagged_tags/);

    const having = async (tags: string[]) => (await c.query<{ id: number }>(filter, [JSON.stringify(tags)])).rows.map((r) => r.id);
    assert.deepEqual(await having(['开心', '猫']), ids.filter((i) => tagsOf(i).includes('猫')));
    assert.deepEqual(await having(['开心']), ids.filter((i) => tagsOf(i).includes('开心')));
    assert.deepEqual(await having(['开']), [], 'a tag matches whole, never a substring of another tag');
  });

  test('keyword search: fts-terms segmentation in a simple tsvector, so a two-character word matches inside a caption', async () => {
    const c = await db.connect();
    await c.query(`CREATE TABLE captions (id int PRIMARY KEY, caption text NOT NULL, terms tsvector NOT NULL)`);
    await c.query(`CREATE INDEX captions_terms ON captions USING gin (terms)`);
    const captions = ['今天很开心', '开心就好', '我太难了', '不开心的EMO时刻', '心开了'];
    for (const [i, caption] of captions.entries())
      await c.query(`INSERT INTO captions VALUES ($1, $2, to_tsvector('simple', $3))`, [i, caption, indexTerms(caption)]);
    const search = `SELECT caption FROM captions, to_tsquery('simple', $1) q
      WHERE terms @@ q ORDER BY ts_rank(terms, q) DESC, id`;
    const find = async (query: string) =>
      (await c.query<{ caption: string }>(search, [anyTerm(queryTerms(query))])).rows.map((r) => r.caption);

    assert.deepEqual(await find('开心'), ['今天很开心', '开心就好', '不开心的EMO时刻'], '心开了 has both characters, not the word');
    assert.equal((await find('很开心'))[0], '今天很开心', 'the caption matching more terms ranks first');
    assert.deepEqual(await find('emo'), ['不开心的EMO时刻'], 'Latin words match case-insensitively');
    assert.deepEqual(await find('难'), ['我太难了'], 'a lone character matches');
    assert.deepEqual(await find("it's & | ! 'x"), [], 'operators in a query are plain text');
    await c.query(`SET enable_seqscan = off`);
    assert.match(await plan(c, search, [anyTerm(['开心'])]), /Bitmap Index Scan on captions_terms/);
  });

  test('work claims: FOR UPDATE SKIP LOCKED never hands one row to two connections; an expired lease is taken over', async () => {
    const [a, b] = [await db.connect(), await db.connect()];
    await a.query(`CREATE TABLE work (id int PRIMARY KEY, owner text, lease_until timestamptz)`);
    await a.query(`INSERT INTO work SELECT i FROM generate_series(1, 300) i`);
    const claim = async (c: pg.Client, owner: string, n: number) => {
      const { rows } = await c.query<{ id: number }>(
        `UPDATE work SET owner = $1, lease_until = now() + interval '60 seconds'
         WHERE id IN (SELECT id FROM work WHERE lease_until IS NULL OR lease_until < now()
                      ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id`,
        [owner, n],
      );
      assert.ok(rows.length <= n, `${rows.length} rows claimed, at most ${n} asked`);
      return rows.map((r) => r.id).sort((x, y) => x - y);
    };
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

    // A holds its claim open; B passes over the locked rows instead of waiting for them.
    await b.query(`SET statement_timeout = '5s'`);
    await a.query('BEGIN');
    assert.deepEqual(await claim(a, 'A', 5), range(1, 5));
    assert.deepEqual(await claim(b, 'B', 5), range(6, 10));
    await a.query('COMMIT');

    // Both claim at once until nothing is left: every row goes to exactly one of them.
    const drain = async (c: pg.Client, owner: string) => {
      const got: number[] = [];
      for (let batch = await claim(c, owner, 7); batch.length > 0; batch = await claim(c, owner, 7)) got.push(...batch);
      return got;
    };
    const [byA, byB] = await Promise.all([drain(a, 'A'), drain(b, 'B')]);
    const all = [...range(1, 10), ...byA, ...byB].sort((x, y) => x - y);
    assert.deepEqual(all, range(1, 300), 'no row claimed twice, none left out');
    assert.ok(byA.length > 0 && byB.length > 0, `both took work (A ${byA.length}, B ${byB.length})`);

    // B dies: nobody extends its leases, they run out, and A takes exactly B's rows over.
    const { rows: held } = await a.query<{ id: number }>(`SELECT id FROM work WHERE owner = 'B' ORDER BY id`);
    await a.query(`UPDATE work SET lease_until = now() - interval '1 millisecond' WHERE owner = 'B'`);
    assert.deepEqual(await claim(a, 'A', 1000), held.map((r) => r.id));
    assert.deepEqual(await claim(b, 'B', 1000), [], 'live leases are never taken');
  });

  test('advisory locks: a transaction lock is released at commit, a session lock when its session dies', async () => {
    const [a, b] = [await db.connect(), await db.connect()];
    const tryLock = async (c: pg.Client, fn: string, key: number) =>
      (await c.query<{ ok: boolean }>(`SELECT ${fn}($1) AS ok`, [key])).rows[0]!.ok;

    await a.query('BEGIN');
    assert.equal(await tryLock(a, 'pg_try_advisory_xact_lock', 41), true);
    assert.equal(await tryLock(b, 'pg_try_advisory_xact_lock', 41), false);
    await a.query('COMMIT');
    assert.equal(await tryLock(b, 'pg_try_advisory_xact_lock', 41), true);

    // Another process takes a session lock and is killed (kill -9 of a cron run).
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import pg from 'pg'; const c = new pg.Client({ connectionString: process.argv[1] }); await c.connect();
         const { rows } = await c.query('SELECT pg_try_advisory_lock(42) AS ok'); console.log(rows[0].ok ? 'locked' : 'busy');
         setInterval(() => {}, 1000);`,
        db.url,
      ],
      { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(holder.stdout!, 'data')) as [Buffer];
    assert.equal(line.toString().trim(), 'locked');
    assert.equal(await tryLock(b, 'pg_try_advisory_lock', 42), false, 'held by the other session');
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    const deadline = Date.now() + 10_000;
    while (!(await tryLock(b, 'pg_try_advisory_lock', 42))) {
      assert.ok(Date.now() < deadline, 'the dead session’s lock is released');
      await sleep(50);
    }
  });
});
