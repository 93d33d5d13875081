/**
 * SearchSlots: searches that block the thread (SQLite is synchronous) leave
 * the event loop a turn between them, so sockets, timers and cached answers
 * are served while a queue of searches drains; a full queue refuses at once,
 * and so does a line longer than what is answered before the deadline.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BusyError, LateError, OverloadedError, SearchSlots } from '../../src/serve/search-slots.js';

/** A search that holds the thread for `ms`, as a keyword search over a large library does. */
const blocking = (ms: number, done: string[], name: string) => async () => {
  const until = performance.now() + ms;
  while (performance.now() < until);
  done.push(name);
  return name;
};

test('a queue of blocking searches lets timers and I/O run between them', async () => {
  const slots = new SearchSlots(4, 100);
  const done: string[] = [];
  const searches = Array.from({ length: 6 }, (_, i) => slots.run(blocking(30, done, `search ${i}`)));
  // A timer due at once (a request timeout, a socket read) must not wait for the whole queue.
  const timer = new Promise<number>((resolve) => setTimeout(() => resolve(done.length), 0));
  const ranBefore = await timer;
  assert.ok(ranBefore < 6, `the timer ran only after all ${ranBefore} searches`);
  assert.deepEqual(await Promise.all(searches), done);
});

test('every slot busy and the queue full: refused at once with a BusyError', async () => {
  const slots = new SearchSlots(1, 1, 2);
  const done: string[] = [];
  const running = slots.run(blocking(1, done, 'a'));
  const queued = slots.run(blocking(1, done, 'b'));
  await assert.rejects(slots.run(blocking(1, done, 'c')), (e: unknown) => e instanceof BusyError && e.retryAfterSeconds === 2);
  assert.deepEqual(await Promise.all([running, queued]), ['a', 'b']);
});

test('a line longer than what is answered before the deadline: refused at once (503), with how long the line takes to clear', async () => {
  const slots = new SearchSlots(1, 100);
  const done: string[] = [];
  const searches = Array.from({ length: 6 }, (_, i) => slots.run(blocking(40, done, `search ${i}`)));
  await searches[2]; // two answers apart while others waited: about 40 ms each
  const { answer_interval_ms, waiting } = slots.counts();
  assert.ok(answer_interval_ms >= 35 && answer_interval_ms < 400, `interval ${answer_interval_ms} ms`);
  assert.equal(waiting, 2);
  const now = performance.now();
  // Three ahead of it (one running, two waiting) and its own: about 160 ms.
  const refused = await slots.run(blocking(1, done, 'too late'), now + 60).catch((e: unknown) => e);
  assert.ok(refused instanceof OverloadedError, String(refused));
  assert.equal(refused.retryAfterSeconds, 1);
  assert.equal(await slots.run(blocking(1, done, 'in time'), now + 5000), 'in time');
  await Promise.all(searches);
  assert.ok(!done.includes('too late'));
  assert.deepEqual(slots.counts().refused, 1);
});

test('one slow search among many does not make the line look long: the estimate is their recent mean', async () => {
  const slots = new SearchSlots(1, 100);
  const done: string[] = [];
  const searches = Array.from({ length: 20 }, (_, i) => slots.run(blocking(10, done, `quick ${i}`)));
  await Promise.all([...searches, slots.run(blocking(200, done, 'slow'))]);
  const { answer_interval_ms } = slots.counts();
  // 19 intervals of about 10 ms and one of 200: a mean near 20 ms, where weighing the newest by 0.2 gave about 50.
  assert.ok(answer_interval_ms >= 15 && answer_interval_ms < 35, `interval ${answer_interval_ms} ms`);
});

test('no line, no refusal: however slow searches were, one with nothing waiting ahead of it is run', async () => {
  const slots = new SearchSlots(1, 100);
  const done: string[] = [];
  await Promise.all(Array.from({ length: 3 }, (_, i) => slots.run(blocking(100, done, `slow ${i}`))));
  assert.ok(slots.counts().answer_interval_ms >= 90);
  assert.equal(await slots.run(blocking(1, done, 'alone'), performance.now() + 50), 'alone');
});

test('a search whose deadline passed while it waited is not run', async () => {
  const slots = new SearchSlots(1, 100);
  const done: string[] = [];
  const first = slots.run(blocking(100, done, 'first'));
  const late = slots.run(blocking(1, done, 'late'), performance.now() + 20).catch((e: unknown) => e);
  assert.equal(await first, 'first');
  assert.ok((await late) instanceof LateError);
  assert.deepEqual(done, ['first'], 'the late search never ran');
  assert.equal(slots.counts().dropped, 1);
});
