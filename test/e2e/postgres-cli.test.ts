/**
 * The maintenance commands on a PostgreSQL library, as an operator runs them
 * (spawned CLI, `--json`): verify and verify --repair, stats, doctor, recall,
 * embed --watch stopped by SIGTERM, serve and openLibrary, and purge. The library is a generated one
 * moved in by migrate, its objects in a local folder.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { openLibrary } from '../../src/library/library.js';
import { runCli, startCli } from '../helpers/cli.js';
import { generateLibrary } from '../helpers/library-generator.js';
import { describeIfPostgres, pgLibraryCounts, usePostgres } from '../helpers/postgres.js';
import { RecallJson } from '../helpers/recall-json.js';
import { recallPath, request, startServer } from '../helpers/serve.js';
import { STORE_BACKENDS, type LibraryCopy } from '../helpers/store-backends.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const MEMES = 50;

describeIfPostgres('maintenance commands on a PostgreSQL library', () => {
  let ws: Workspace;
  let copy: LibraryCopy;
  let md5: (i: number) => string;
  const cli = (...args: string[]) => runCli(['--config', ws.config, ...args]);
  const sql = async (text: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: copy.db });
    await client.connect();
    try {
      return (await client.query(text, params)).rows;
    } finally {
      await client.end();
    }
  };

  before(async () => {
    ws = makeWorkspace();
    ({ md5 } = generateLibrary({ db: ws.db, objects: ws.objects, memes: MEMES, dims: 16, collection: 'generated' }));
    copy = await STORE_BACKENDS.find((b) => b.name === 'PostgreSQL')!.copyOf(ws.db);
    usePostgres(ws, copy.db);
  });
  after(async () => {
    await copy?.cleanup();
    ws?.cleanup();
  });

  test('verify is clean; a lost keyword row is found, and --repair rebuilds it', async () => {
    const clean = JSON.parse((await cli('--json', 'verify')).stdout) as { found: number; totals: Record<string, number> };
    assert.deepEqual([clean.found, clean.totals.memes, clean.totals.objects, clean.totals.fts_rows], [0, MEMES, MEMES, MEMES]);

    await sql('DELETE FROM meme_keywords WHERE meme_id = (SELECT id FROM memes WHERE md5 = $1)', [md5(3)]);
    const found = await cli('verify');
    assert.equal(found.code, 1);
    assert.match(found.stderr, /meme_without_fts_row\s+1/);
    const repaired = await cli('verify', '--repair');
    assert.equal(repaired.code, 0, repaired.stderr);
    assert.match(repaired.stderr, /after repair: no inconsistencies/);
    assert.equal((await sql('SELECT count(*)::int AS n FROM meme_keywords'))[0]!.n, MEMES, 'the keyword row was rebuilt');
  });

  test('stats, doctor and recall read the library; the URL password never shows', async () => {
    const stats = JSON.parse((await cli('--json', 'stats')).stdout) as { storage: { memes: number }; collections: Array<{ collection: string }> };
    assert.equal(stats.storage.memes, MEMES);
    assert.deepEqual(stats.collections.map((c) => c.collection), ['generated']);

    const doctor = await cli('--json', 'doctor');
    const report = JSON.parse(doctor.stdout) as { checks: Array<{ check: string; status: string; detail: string }> };
    const database = report.checks.find((c) => c.check === 'database')!;
    assert.equal(database.status, 'ok', database.detail);
    assert.match(database.detail, new RegExp(`schema v\\d+, ${MEMES} memes; generated 16d`));
    assert.ok(!`${doctor.stdout}${doctor.stderr}`.includes(new URL(copy.db).password), 'no password');

    const recall = await cli('--json', 'recall', '文字7', '--mode', 'keyword', '--top-k', '3');
    assert.equal(recall.code, 0, recall.stderr);
    const hits = (JSON.parse(recall.stdout) as { results: Array<{ md5: string; explain: { exact_caption: boolean } }> }).results;
    assert.deepEqual([hits[0]?.md5, hits[0]?.explain.exact_caption], [md5(7), true]);
  });

  test('embed --watch fills a new collection and stops cleanly on SIGTERM', async () => {
    const watch = startCli(['--config', ws.config, '--json', 'embed', '--embedding', 'second', '--watch', '--interval', '1s']);
    const deadline = Date.now() + 120_000;
    const vectors = async () => (await sql(`SELECT count(*)::int AS n FROM meme_vectors WHERE collection = 'second'`).catch(() => [{ n: 0 }]))[0]!.n;
    while ((await vectors()) < MEMES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    watch.child.kill('SIGTERM');
    const done = await watch.done;
    assert.equal(done.code, 0, done.stderr);
    assert.equal((JSON.parse(done.stdout) as { embedded: number }).embedded, MEMES);
    assert.equal((await pgLibraryCounts(copy.db, ['vec'], 'second')).vec, MEMES);
  });

  test('serve and openLibrary answer from the PostgreSQL library; a commit by another connection drops the cached answers', async () => {
    const server = await startServer(ws.config);
    try {
      const path = recallPath({ q: '文字7', mode: 'keyword', top_k: 3 });
      const first = await request(server.url, path);
      assert.equal(first.status, 200, first.text);
      assert.deepEqual([RecallJson.parse(first.json).results[0]?.md5, first.headers['x-emomo-cache']], [md5(7), 'miss']);
      // The change mark is the server's snapshot, so writes to other databases on a shared server (other tests)
      // move it too: a hit needs two requests with no write anywhere between them.
      let cache = '';
      for (let i = 0; i < 50 && cache !== 'hit'; i++) {
        await request(server.url, path);
        cache = String((await request(server.url, path)).headers['x-emomo-cache']);
      }
      assert.equal(cache, 'hit');
      await sql('UPDATE memes SET updated_at = now() WHERE md5 = $1', [md5(8)]);
      assert.equal((await request(server.url, path)).headers['x-emomo-cache'], 'miss', 'another connection committed');

      const meme = await request(server.url, `/api/memes/${md5(7)}`);
      assert.equal(meme.status, 200, meme.text);
      assert.deepEqual([meme.json.md5, meme.json.sources.length], [md5(7), 1]);
      const image = await request(server.url, `/objects/${meme.json.storage_key}`);
      assert.deepEqual([image.status, image.headers.etag], [200, `"${md5(7)}"`]);
    } finally {
      await server.close();
    }

    const library = await openLibrary({ config: ws.config, db: copy.db, env: {} });
    try {
      assert.equal((await library.recall('文字7', { mode: 'keyword', topK: 1 })).results[0]?.md5, md5(7));
      assert.equal((await library.stats()).storage.memes, MEMES);
    } finally {
      await library.close();
    }
  });

  test('purge removes the source: rows in one transaction, then its objects; verify stays clean', async () => {
    const purged = await cli('--json', 'purge', '--source', 'staging:generated', '--yes');
    assert.equal(purged.code, 0, purged.stderr);
    const report = JSON.parse(purged.stdout) as { memes_removed: number; objects_deleted: number };
    assert.deepEqual([report.memes_removed, report.objects_deleted], [MEMES, MEMES]);
    assert.deepEqual(await pgLibraryCounts(copy.db, ['memes', 'vectors', 'fts', 'descriptions', 'sources']), {
      memes: 0, vectors: 0, fts: 0, descriptions: 0, sources: 0,
    });
    assert.equal(JSON.parse((await cli('--json', 'verify')).stdout).found, 0);
  });
});
