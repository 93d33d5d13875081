/**
 * RecallCache: answers kept until the change mark moves, the mark asked once
 * per turn of the event loop, and a kept answer found again by the text of
 * the request that asked for it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecallCache } from '../../src/serve/recall-cache.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

function library() {
  const state = { mark: '1', looks: 0, searches: 0 };
  const changeMark = async () => {
    state.looks++;
    return state.mark;
  };
  const search = (answer: string) => async () => {
    state.searches++;
    return answer;
  };
  return { state, changeMark, search };
}

test('the requests of one turn share one look at the change mark; the next turn looks again', async () => {
  const lib = library();
  const cache = new RecallCache<string>(10, lib.changeMark, () => true);
  await cache.get('k', lib.search('a'));
  await nextTurn();
  const looks = lib.state.looks;
  const answers = await Promise.all(Array.from({ length: 50 }, () => cache.get('k', lib.search('b'))));
  assert.ok(answers.every((a) => a.value === 'a' && a.source === 'hit'));
  assert.equal(lib.state.looks - looks, 1, 'one look for 50 answers in one turn');
  await nextTurn();
  await cache.get('k', lib.search('b'));
  assert.equal(lib.state.looks - looks, 2);
});

test('a change seen in a later turn empties the cache, aliases too', async () => {
  const lib = library();
  const cache = new RecallCache<string>(10, lib.changeMark, () => true);
  assert.equal((await cache.get('k', lib.search('old'), 'GET /k')).source, 'miss');
  assert.equal(await cache.lookup('GET /k'), 'old');
  lib.state.mark = '2'; // another connection committed
  await nextTurn();
  assert.equal(await cache.lookup('GET /k'), undefined, 'the alias went with the change');
  const again = await cache.get('k', lib.search('new'), 'GET /k');
  assert.deepEqual(again, { value: 'new', source: 'miss' });
  assert.equal(await cache.lookup('GET /k'), 'new');
});

test('an alias is kept only for a kept answer, and at most capacity of them', async () => {
  const lib = library();
  const cache = new RecallCache<string>(2, lib.changeMark, (v) => !v.startsWith('partial'));
  await cache.get('p', lib.search('partial answer'), 'GET /p');
  assert.equal(await cache.lookup('GET /p'), undefined, 'a partial answer is not found again');
  await cache.get('k', lib.search('a'), 'GET /k?x=1');
  await cache.get('k', lib.search('a'), 'GET /k?x=1&');
  await cache.get('k', lib.search('a'), 'GET /k?x=1&&');
  assert.equal(lib.state.searches, 2, 'three spellings of one request: one search');
  assert.equal(await cache.lookup('GET /k?x=1'), undefined, 'the oldest alias made room');
  assert.equal(await cache.lookup('GET /k?x=1&&'), 'a');
});

test('cache_entries 0: nothing kept, nothing found by alias', async () => {
  const lib = library();
  const cache = new RecallCache<string>(0, lib.changeMark, () => true);
  await cache.get('k', lib.search('a'), 'GET /k');
  assert.equal(await cache.lookup('GET /k'), undefined);
  assert.equal((await cache.get('k', lib.search('a'), 'GET /k')).source, 'miss');
  assert.equal(lib.state.looks, 0, 'no look at the mark without a cache');
});
