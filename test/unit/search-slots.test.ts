/**
 * SearchSlots: searches that block the thread (SQLite is synchronous) leave
 * the event loop a turn between them, so sockets, timers and cached answers
 * are served while a queue of searches drains; a full queue refuses at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BusyError, SearchSlots } from '../../src/serve/search-slots.js';

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
