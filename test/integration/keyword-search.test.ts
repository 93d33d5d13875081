/**
 * Keyword search on SQLite finds the captions that are exactly the query
 * through the index (a phrase, then compared) instead of reading the caption
 * of every meme the terms match. It must still return what its one-query
 * definition returns — exact captions first, then BM25, then id — with and
 * without filters, on a library where a few words are everywhere, many
 * captions repeat word for word and exact captions are not the best by BM25.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { indexTerms, matchExpression, queryTerms } from '../../src/store/fts-terms.js';
import type { KeywordHit, RecallFilters } from '../../src/store/ports.js';
import { openDatabase, type Db } from '../../src/store/sqlite/database.js';
import { SqliteKeywordQueries } from '../../src/store/sqlite/keyword-queries.js';
import { memeWhere } from '../../src/store/sqlite/meme-filters.js';
import { generateLibrary } from '../helpers/library-generator.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const WORDS = ['开心', '我太难了', '无语', '摸鱼', '打工人', 'emo', '好的', '谢谢老板', '累了', '哈哈哈'];
const PARTICLES = ['了', '啊', '吧', '我', '你'];
const BM25 = 'bm25(memes_fts, 4.0, 1.0, 2.0)';

/** The definition: one query that reads the caption of every match. */
function reference(db: Db, text: string, k: number, filters: RecallFilters): KeywordHit[] {
  const match = matchExpression(queryTerms(text));
  if (!match) return [];
  const { where, params } = memeWhere(filters); // the filters as every SQLite search applies them
  const rows = db
    .prepare(
      `SELECT f.rowid AS memeId, -${BM25} AS bm25, f.ocr_text = ? AS exact FROM memes_fts f JOIN memes m ON m.id = f.rowid
       WHERE memes_fts MATCH ?${where} ORDER BY exact DESC, ${BM25}, f.rowid LIMIT ?`,
    )
    .all(indexTerms(text), match, ...params, k) as Array<{ memeId: number; bm25: number; exact: number }>;
  return rows.map((r) => ({ memeId: r.memeId, bm25: r.bm25, exact: r.exact === 1 }));
}

describe('keyword search on SQLite', () => {
  let ws: Workspace;
  let db: Db;
  let queries: SqliteKeywordQueries;

  before(() => {
    ws = makeWorkspace();
    const random = seededRandom(0xc0de);
    const pick = () => WORDS[Math.floor(WORDS.length * random() ** 2)]!; // skewed: the first words are everywhere
    generateLibrary({
      db: ws.db,
      objects: ws.objects,
      memes: 3000,
      text: (i, category) => {
        let ocr = Array.from({ length: 1 + Math.floor(random() * 3) }, pick).join('');
        if (random() < 0.3) ocr += PARTICLES[Math.floor(random() * PARTICLES.length)];
        if (i % 50 === 0) ocr = `${ocr}${ocr}${ocr}`; // the same words, more often: a better BM25 than the exact caption
        return { ocr, description: `${category}表情包，配文「${ocr}」`, tags: i % 3 ? [category] : [category, '精选'] };
      },
    });
    db = openDatabase(ws.db);
    queries = new SqliteKeywordQueries(db);
  });
  after(() => {
    db.close();
    ws.cleanup();
  });

  test('returns what the one-query definition returns, exact captions first, with and without filters', () => {
    const texts = [...WORDS, ...WORDS.map((w) => `${w}了`), '开心无语', '我太难了开心', '开心开心开心', '从没见过', 'EMO', '？！'];
    const filters: RecallFilters[] = [
      { tags: [] },
      { tags: [], category: '类别3' },
      { tags: ['精选'] },
      { tags: ['精选'], animated: false },
    ];
    let exactSeen = 0;
    let exactBelowBm25 = 0;
    for (const text of texts) {
      for (const f of filters) {
        for (const k of [1, 10, 200]) {
          const want = reference(db, text, k, f);
          const got = queries.keywordSearch({ text }, k, f);
          const label = `${text} k=${k} ${JSON.stringify(f)}`;
          assert.deepEqual(
            got.map((h) => [h.memeId, h.exact]),
            want.map((h) => [h.memeId, h.exact]),
            label,
          );
          got.forEach((h, i) => assert.ok(Math.abs(h.bm25 - want[i]!.bm25) < 1e-9, label));
          exactSeen += got.filter((h) => h.exact).length;
          const best = queries.keywordSearch({ terms: queryTerms(text) }, 1, f)[0];
          if (got[0]?.exact && best && best.memeId !== got[0].memeId) exactBelowBm25++;
        }
      }
    }
    // The library must exercise the case the index path exists for.
    assert.ok(exactSeen > 100, `exact captions found: ${exactSeen}`);
    assert.ok(exactBelowBm25 > 0, 'some exact caption ranks first although another meme scores better by BM25');
  });
});

describe('document frequencies on SQLite', () => {
  test('are counted once, and again after any commit: from another connection, from this one, not inside a transaction', () => {
    const ws = makeWorkspace();
    try {
      generateLibrary({ db: ws.db, objects: ws.objects, memes: 20, text: (i) => ({ ocr: i % 2 ? '开心' : '无语', description: '', tags: [] }) });
      const reader = openDatabase(ws.db);
      const writer = openDatabase(ws.db);
      const keyword = new SqliteKeywordQueries(reader);
      const count = () => {
        const stats = keyword.documentFrequencies(['开心', '从没见过']);
        return [stats.documents, stats.frequencies.get('开心'), stats.frequencies.has('从没见过')];
      };
      const add = (db: Db, id: number) => db.prepare("INSERT INTO memes_fts (rowid, ocr_text, description, tags) VALUES (?, '开 心 开心', '', '')").run(id);
      assert.deepEqual(count(), [20, 10, false]);
      add(writer, 101);
      assert.deepEqual(count(), [21, 11, false], 'another connection committed');
      add(reader, 102);
      assert.deepEqual(count(), [22, 12, false], 'this connection wrote');
      reader.exec('BEGIN');
      add(reader, 103);
      assert.deepEqual(count(), [23, 13, false], 'inside a transaction: what it sees now');
      assert.deepEqual(count(), [23, 13, false], 'asked again (FTS5 has flushed its pending rows by now)');
      reader.exec('ROLLBACK');
      assert.deepEqual(count(), [22, 12, false], 'rolled back: not kept');
      reader.close();
      writer.close();
    } finally {
      ws.cleanup();
    }
  });
});
