import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { MAX_TERM_TEXT } from '../../src/lexicon/fold.js';
import { lexicalFeatures } from '../../src/providers/embedding/lexical-features.js';
import {
  holdsPhrase,
  indexedSet,
  indexTerms,
  matchedTerms,
  matchExpression,
  phrasesExpression,
  queryTerms,
} from '../../src/store/fts-terms.js';

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

  test('text is NFKC-folded and lower-cased before it is split', () => {
    assert.equal(indexTerms('ＥＭＯ了'), 'emo 了');
    assert.deepEqual(queryTerms('ＹＹＤＳ'), ['yyds']);
  });

  test('a 100,000-character run of Han and a 10 MB tag are read up to the bound, without overflowing the stack', () => {
    // Each character distinct enough that the bigrams are not all one term.
    const han = Array.from({ length: 100_000 }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 7919) % 20_000))).join('');
    const tag = 'a'.repeat(10 * 1024 * 1024);
    for (const text of [han, tag, `${'开心emo'.repeat(2_000_000)}`, `${'𠀀'.repeat(MAX_TERM_TEXT + 5)}`]) {
      const terms = indexTerms(text).split(' ');
      assert.ok(terms.length > 0 && terms.length < 2 * MAX_TERM_TEXT, `${terms.length} index terms`);
      assert.ok(queryTerms(text).length <= MAX_TERM_TEXT);
      assert.ok(lexicalFeatures(text).size <= 3 * MAX_TERM_TEXT);
    }
    assert.equal(indexTerms(tag), 'a'.repeat(MAX_TERM_TEXT)); // the first MAX_TERM_TEXT characters, one word
    assert.ok(!indexTerms('𠀀'.repeat(MAX_TERM_TEXT + 5)).includes('\ufffd'), 'never splits a surrogate pair');
  });

  test('an expansion matches as a phrase: its bigrams in a row, not scattered; quotes stay text', () => {
    const db = new Database(':memory:');
    db.exec("CREATE VIRTUAL TABLE t USING fts5(ocr_text, description, tags, tokenize = 'unicode61')");
    const insert = db.prepare('INSERT INTO t (rowid, ocr_text, description, tags) VALUES (?, ?, ?, ?)');
    insert.run(1, indexTerms('我真的无话可说了'), '', '');
    insert.run(2, indexTerms('可说无话'), '', ''); // the same bigrams but one (话可) and never in a row
    insert.run(3, indexTerms('栓Q'), '', '');
    insert.run(4, indexTerms('q栓'), '', '');
    const search = (phrases: string[]) => {
      const expr = phrasesExpression(phrases);
      return expr ? (db.prepare('SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid').pluck().all(expr) as number[]) : [];
    };
    assert.deepEqual(search(['无话可说']), [1]);
    assert.deepEqual(search(['栓q']), [3, 4]); // two tokens, both required (order across tokens is not checked)
    assert.deepEqual(search(['无话可说', '栓q']), [1, 3, 4]);
    assert.equal(phrasesExpression(['无话可说', '栓q']), '"无话 话可 可说" OR ("栓" AND "q")');
    assert.deepEqual(search(['"', 'NEAR(a b)']), []);
    assert.doesNotThrow(() => search(['a"b', '*', '"无话']));
    assert.equal(phrasesExpression(['。。', '']), undefined);
    db.close();
  });

  test('a document holds a phrase when it holds all its terms', () => {
    const present = indexedSet([indexTerms('我真的无话可说了'), '', '']);
    assert.equal(holdsPhrase('无话可说', present), true);
    assert.equal(holdsPhrase('无言以对', present), false);
    assert.equal(holdsPhrase('', present), false);
  });

  test('matched terms are the query terms present in the indexed columns', () => {
    assert.deepEqual(matchedTerms(['开心', '难过'], [indexTerms('今天很开心'), '', indexTerms('猫猫')]), ['开心']);
  });
});
