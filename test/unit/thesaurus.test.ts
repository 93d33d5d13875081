import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadThesaurus, MAX_EXPANSIONS, readPackagedSynonyms, readSlangTable, Thesaurus } from '../../src/lexicon/thesaurus.js';

const terms = (t: Thesaurus, query: string) => t.expand(query).map((e) => `${e.term}<${e.for}:${e.source}`);

describe('Thesaurus', () => {
  const small = new Thesaurus([
    { source: 'config', entries: [['栓Q', ['无奈']]] },
    { source: 'slang', entries: [['笑死', ['哈哈哈', '好笑']], ['笑死我了', ['哈哈哈']], ['nb', ['牛逼']], ['栓q', ['无语']], ['穷', ['没钱']]] },
    { source: 'curated', entries: [['无语', ['无话可说']], ['牛逼', ['厉害']]] },
  ]);

  test('a relation works both ways, one step only', () => {
    assert.deepEqual(terms(small, '笑死'), ['哈哈哈<笑死:slang', '好笑<笑死:slang']);
    assert.deepEqual(terms(small, '哈哈哈'), ['笑死<哈哈哈:slang', '笑死我了<哈哈哈:slang']);
    // nb → 牛逼, 牛逼 → 厉害: never nb → 厉害.
    assert.deepEqual(terms(small, 'nb'), ['牛逼<nb:slang']);
  });

  test('terms are matched folded (NFKC, lower case); the first source to relate two words names the relation', () => {
    assert.deepEqual(terms(small, '栓Ｑ'), ['无奈<栓q:config', '无语<栓q:slang']);
    assert.deepEqual(terms(small, '无语'), ['栓q<无语:slang', '无话可说<无语:curated']);
  });

  test('Latin and digit terms count only as whole words; a term inside a longer one found at the same place is left out', () => {
    assert.deepEqual(terms(small, 'nba'), []);
    assert.deepEqual(terms(small, '这也太nb了'), ['牛逼<nb:slang']);
    assert.deepEqual(terms(small, '笑死我了'), ['哈哈哈<笑死我了:slang']); // not also 笑死's words
    assert.deepEqual(terms(small, '穷得叮当响'), ['没钱<穷:slang']); // a one-character term fires inside a query
  });

  test('a word the query already says is not searched again, and a query fans out into at most MAX_EXPANSIONS words', () => {
    assert.deepEqual(terms(small, '笑死 哈哈哈'), ['好笑<笑死:slang', '笑死我了<哈哈哈:slang']);
    const wide = new Thesaurus([{ source: 'config', entries: [['a', Array.from({ length: 40 }, (_, i) => `w${i}`)]] }]);
    assert.equal(wide.expand('a').length, MAX_EXPANSIONS);
    assert.deepEqual(wide.expand(''), []);
  });

  test('a long query is scanned quickly', () => {
    const t = loadThesaurus();
    const started = performance.now();
    t.expand('笑死'.repeat(100_000));
    assert.ok(performance.now() - started < 1000);
  });
});

describe('the shipped tables', () => {
  test('configs/slang.json is versioned, and every entry relates a term to other non-empty words', () => {
    const table = readSlangTable();
    assert.ok(Number.isInteger(table.version) && table.version >= 1);
    assert.ok(table.slang.length >= 100 && table.synonyms.length >= 40);
    for (const [term, words] of [...table.slang, ...table.synonyms]) {
      assert.ok(term.trim() && words.length > 0, term);
      for (const word of words) assert.ok(word.trim() && word !== term, `${term}: ${word}`);
      assert.equal(term, term.normalize('NFKC').toLowerCase(), `${term} is written folded`);
    }
  });

  test('the packaged thesaurus (segment) is read, without its one-character pairs', () => {
    const pairs = readPackagedSynonyms();
    assert.ok(pairs.length > 4000);
    assert.ok(pairs.some(([a, words]) => a === '叹气' && words.includes('叹息')));
    assert.ok(pairs.every(([a, words]) => a.length > 1 && words.every((w) => w.length > 1)));
  });

  test('recall.synonyms comes first, then slang, curated and the packaged thesaurus', () => {
    const t = loadThesaurus({ 绝绝子: ['好棒'], 叹气: ['唉'] });
    assert.deepEqual(t.lookup('绝绝子')[0], { term: '好棒', source: 'config' });
    assert.deepEqual(t.lookup('笑死')[0], { term: '哈哈哈', source: 'slang' });
    assert.ok(t.lookup('开心').some((r) => r.term === '高兴' && r.source === 'curated'));
    assert.ok(t.lookup('叹气').some((r) => r.term === '叹息' && r.source === 'thesaurus'));
    assert.deepEqual(t.lookup('唉'), [{ term: '叹气', source: 'config' }]);
  });
});
