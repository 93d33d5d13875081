/**
 * The document frequencies recall weighs queries with come live from the
 * keyword index: they count exactly the memes holding a term, and follow the
 * library as memes are ingested and purged (nothing to rebuild, nothing stale).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { createApp } from '../../src/app.js';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { purge } from '../../src/cli/commands/purge.js';
import { Reporter } from '../../src/cli/reporter.js';
import { Capture } from '../helpers/run-ingest.js';
import { buildTwoSources } from '../helpers/two-sources.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const TERMS = ['开心', '开', '熊猫头', '柴犬', '无奈', '从没出现过'];

/** What the statistics must say, counted the slow way: memes whose indexed terms hold each term. */
function expected(db: Database.Database): { documents: number; frequencies: Map<string, number> } {
  const rows = db.prepare('SELECT ocr_text, description, tags FROM memes_fts').all() as Array<Record<string, string>>;
  const frequencies = new Map<string, number>();
  for (const term of TERMS) {
    const n = rows.filter((r) => Object.values(r).some((column) => column.split(' ').includes(term))).length;
    if (n > 0) frequencies.set(term, n);
  }
  return { documents: rows.length, frequencies };
}

describe('term statistics', () => {
  let ws: Workspace;
  beforeEach(async () => {
    ws = makeWorkspace();
    await buildTwoSources(ws);
  });
  afterEach(() => ws.cleanup());

  test('a library from before them gets the vocabulary and a folded keyword index when it is opened', async () => {
    let db = openDatabase(ws.db);
    const version = db.pragma('user_version', { simple: true }) as number;
    const id = db.prepare("SELECT id FROM memes WHERE tags LIKE '%开心%' LIMIT 1").pluck().get() as number;
    db.exec('DROP TABLE memes_fts_vocab');
    // As schema 3 indexed a full-width caption: not folded.
    db.prepare('UPDATE meme_descriptions SET ocr_text = ? WHERE md5 = (SELECT md5 FROM memes WHERE id = ?)').run('ＥＭＯ了', id);
    db.prepare('UPDATE memes_fts SET ocr_text = ? WHERE rowid = ?').run('ＥＭＯ 了', id);
    db.pragma('user_version = 3');
    db.close();

    db = openDatabase(ws.db);
    assert.equal(db.pragma('user_version', { simple: true }), version);
    assert.equal(db.prepare('SELECT ocr_text FROM memes_fts WHERE rowid = ?').pluck().get(id), 'emo 了');
    db.close();
    const app = createApp({ configPath: ws.config });
    try {
      assert.equal((await app.store.documentFrequencies(['emo'])).frequencies.get('emo'), 1);
    } finally {
      await app.close();
    }
  });

  test('count the memes holding each term, and follow a purge', async () => {
    const db = new Database(ws.db, { readonly: true });
    const app = createApp({ configPath: ws.config });
    try {
      const before = await app.store.documentFrequencies(TERMS);
      assert.equal(before.documents, 8);
      assert.deepEqual(before, expected(db));
      assert.ok((before.frequencies.get('开心') ?? 0) > 0 && !before.frequencies.has('从没出现过'));
      assert.equal((await app.store.documentFrequencies([])).documents, 8); // no terms still tells the count

      const reporter = new Reporter({ json: true, quiet: true, verbose: false }, new Capture(), new Capture());
      assert.equal(await purge({ source: 'staging:a', dryRun: false, yes: true, examples: 3 }, app, reporter), 0);
      const afterPurge = await app.store.documentFrequencies(TERMS);
      assert.equal(afterPurge.documents, 5); // items 1-3 came only from staging:a
      assert.deepEqual(afterPurge, expected(db));
    } finally {
      await app.close();
      db.close();
    }
  });
});
