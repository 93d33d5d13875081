import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  backoffCharacters,
  CHARACTER_WEIGHT,
  EXPANSION_WEIGHT,
  inverseDocumentFrequency,
  MAX_CHARACTERS,
  MAX_EXPANDED_WORDS,
  planQuery,
  weighQuery,
  wordIdf,
} from '../../src/lexicon/query-plan.js';
import { Thesaurus } from '../../src/lexicon/thesaurus.js';
import type { TermStatistics } from '../../src/store/ports.js';

const stats = (documents: number, frequencies: Record<string, number>): TermStatistics => ({
  documents,
  frequencies: new Map(Object.entries(frequencies)),
});
const df = (frequencies: Record<string, number>) => (term: string) => frequencies[term] ?? 0;

describe('backoff characters', () => {
  test('a character counts alone only where no query bigram holding it is known to the library', () => {
    // 好饿 is unknown, 我好 is known: 我 and 好 are covered, 饿 is not.
    assert.deepEqual(backoffCharacters('我好饿', df({ 我好: 3, 饿: 2, 好: 9, 我: 9 }), 100), ['饿']);
    // Nothing known: every character the library holds, rarest first.
    assert.deepEqual(backoffCharacters('我好饿', df({ 饿: 2, 好: 9, 我: 5 }), 100), ['饿', '我', '好']);
  });

  test('characters the library lacks or holds too often are left out; at most MAX_CHARACTERS, rarest first', () => {
    assert.deepEqual(backoffCharacters('我好饿', df({ 饿: 2, 好: 9, 我: 50 }), 10), ['饿', '好']);
    const many = '甲乙丙丁戊己庚';
    const counts = Object.fromEntries([...many].map((c, i) => [c, 7 - i]));
    assert.deepEqual(backoffCharacters(many, df(counts), 100), [...many].reverse().slice(0, MAX_CHARACTERS));
  });

  test('a lone character is a query term already, and Latin words never back off', () => {
    assert.deepEqual(backoffCharacters('饿 emo', df({ 饿: 1, emo: 1 }), 100), []);
  });
});

describe('weighing a query', () => {
  const thesaurus = new Thesaurus([{ source: 'slang', entries: [['瘦身', ['减肥', '瘦下来']], ['开心', ['快乐']]] }]);

  test('a literal plan searches the query’s own terms only, and needs no statistics', () => {
    const plan = planQuery('好饿瘦身', thesaurus, true);
    assert.deepEqual(plan.lookup, []);
    assert.deepEqual(plan.expansions, []);
    assert.deepEqual(weighQuery(plan, stats(10, { 饿: 1 })), {
      tiers: [{ kind: 'query', query: { text: '好饿瘦身' }, weight: 1 }],
      characters: [],
      expansions: [],
    });
  });

  test('characters and expansions the library holds become weighted tiers after the query’s own', () => {
    const plan = planQuery('好饿瘦身', thesaurus);
    assert.deepEqual(plan.expansions.map((e) => e.term), ['减肥', '瘦下来']);
    assert.ok(['好', '饿', '瘦', '身', '好饿', '饿瘦', '瘦身', '减', '肥', '减肥', '瘦下', '下来'].every((t) => plan.lookup.includes(t)));
    const weighed = weighQuery(plan, stats(100, { 饿: 2, 减肥: 3, 减: 3, 肥: 4 }));
    assert.deepEqual(weighed.characters, ['饿']);
    assert.deepEqual(
      weighed.tiers.map((t) => [t.kind, t.query, t.weight]),
      [
        ['query', { text: '好饿瘦身' }, 1],
        ['characters', { terms: ['饿'] }, CHARACTER_WEIGHT],
        ['expansions', { phrases: ['减肥'] }, EXPANSION_WEIGHT], // 瘦下来 is not in the library: not searched
      ],
    );
    assert.deepEqual(weighed.expansions.map((e) => [e.term, e.for, e.wordHeld]), [['减肥', '瘦身', false]]);
  });

  test('an expansion rarer than the word it stands for weighs less, never more than EXPANSION_WEIGHT of it', () => {
    const common = weighQuery(planQuery('开心', thesaurus), stats(100, { 开心: 40, 快乐: 1 }));
    const idf = inverseDocumentFrequency(stats(100, { 开心: 40, 快乐: 1 }));
    const [tier] = common.tiers.filter((t) => t.kind === 'expansions');
    assert.ok(Math.abs(tier!.weight - (EXPANSION_WEIGHT * idf('开心')) / idf('快乐')) < 1e-9);
    assert.equal(common.expansions[0]!.wordHeld, true);
    const rare = weighQuery(planQuery('开心', thesaurus), stats(100, { 开心: 1, 快乐: 40 }));
    assert.equal(rare.tiers.find((t) => t.kind === 'expansions')!.weight, EXPANSION_WEIGHT);
  });

  test('a one-term expansion held by half the library or more, which BM25 gives no weight, is not searched', () => {
    const single = new Thesaurus([{ source: 'slang', entries: [['不要', ['别', '别这样']]] }]);
    const plan = planQuery('不要', single);
    const searched = (documents: number, frequencies: Record<string, number>) =>
      weighQuery(plan, stats(documents, frequencies)).tiers.filter((t) => t.kind === 'expansions').map((t) => t.query);
    const held = { 不要: 3, 别: 50, 别这: 2, 这样: 2 };
    assert.deepEqual(searched(100, held), [{ phrases: ['别这样'] }], '别 is in half of 100 memes');
    assert.deepEqual(searched(101, held), [{ phrases: ['别', '别这样'] }], 'in 50 of 101 it still weighs something');
    // A phrase of two terms is searched however common its terms: FTS5 weighs the phrase, not each term.
    assert.deepEqual(searched(100, { 不要: 3, 别: 50, 别这: 90, 这样: 90 }), [{ phrases: ['别这样'] }]);
  });

  test('the expansions of at most MAX_EXPANDED_WORDS query words are searched, one search each, in query order', () => {
    const words = ['甲乙', '丙丁', '戊己', '庚辛', '壬癸', '子丑'];
    const same = ['春天', '夏天', '秋天', '冬天', '早上', '晚上'];
    const wide = new Thesaurus([{ source: 'config', entries: words.map((w, i) => [w, [same[i]!]] as const) }]);
    const weighed = weighQuery(planQuery(words.join(' '), wide), stats(100, Object.fromEntries(same.map((w) => [w, 1]))));
    const searched = weighed.tiers.filter((t) => t.kind === 'expansions').map((t) => t.query);
    assert.deepEqual(searched, same.slice(0, MAX_EXPANDED_WORDS).map((w) => ({ phrases: [w] })));
  });

  test('IDF falls as a term gets common; a word is as rare as its rarest term', () => {
    const idf = inverseDocumentFrequency(stats(100, { 我: 90, 饿: 2, 好饿: 1 }));
    assert.ok(idf('我') < idf('饿') && idf('饿') < idf('好饿') && idf('好饿') < idf('没见过'));
    assert.ok(idf('我') > 0);
    assert.equal(wordIdf('我好饿', idf), idf('我好'));
  });
});
