import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { indexTerms, matchedTerms, matchExpression, queryTerms } from '../../src/store/fts-terms.js';

describe('FTS terms', () => {
  test('CJK is indexed as unigrams + bigrams; queries use bigrams, so a two-character word matches inside a caption', () => {
    assert.equal(indexTerms('今天很开心'), '今 天 很 开 心 今天 天很 很开 开心');
    assert.deepEqual(queryTerms('开心'), ['开心']);
    assert.deepEqual(queryTerms('我太难了'), ['我太', '太难', '难了']);
    assert.deepEqual(queryTerms('emo了 OK!'), ['emo', '了', 'ok']);
    assert.deepEqual(queryTerms('!!! ... '), []);
  });

  test('every term is quoted and joined with OR; nothing to search gives undefined', () => {
    assert.equal(matchExpression(['开心']), '"开心"');
    assert.equal(matchExpression(['我太', '太难']), '"我太" OR "太难"');
    assert.equal(matchExpression(['a"b']), '"a""b"');
    assert.equal(matchExpression([]), undefined);
  });

  test('user input can never inject FTS5 syntax', () => {
    const db = new Database(':memory:');
    db.exec("CREATE VIRTUAL TABLE t USING fts5(ocr_text, description, tags, tokenize = 'unicode61')");
    const insert = db.prepare('INSERT INTO t (rowid, ocr_text, description, tags) VALUES (?, ?, ?, ?)');
    insert.run(1, indexTerms('今天很开心'), indexTerms('猫猫表情包'), indexTerms('开心'));
    insert.run(2, indexTerms('near or and not'), '', '');
    insert.run(3, indexTerms('tags'), '', indexTerms('secret'));
    const search = (q: string) => {
      const expr = matchExpression(queryTerms(q));
      return expr ? (db.prepare('SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid').pluck().all(expr) as number[]) : [];
    };
    // Each of these is an FTS5 syntax error or a different query if passed raw.
    for (const hostile of ['"', 'NEAR(开心 猫猫)', '开心*', '^开心', 'tags:secret', '开心 AND NOT 猫猫', '(', 'a OR', '-开心', '{ocr_text}: x']) {
      assert.doesNotThrow(() => search(hostile), hostile);
    }
    assert.deepEqual(search('NEAR(开心 猫猫)'), [1, 2]); // "near" is a word here, and 开心 a term
    assert.deepEqual(search('tags:secret'), [3]); // matches the words, in any column: no column filter
    assert.deepEqual(search('开心 AND NOT 猫猫'), [1, 2]); // AND / NOT are words: OR of all terms
    assert.deepEqual(search('开心'), [1]);
    assert.deepEqual(search('"'), []);
    db.close();
  });

  test('matched terms are the query terms present in the indexed columns', () => {
    assert.deepEqual(matchedTerms(['开心', '难过'], [indexTerms('今天很开心'), '', indexTerms('猫猫')]), ['开心']);
  });
});
