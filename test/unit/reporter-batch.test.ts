/**
 * Reporter.batchLines: a server's access log goes out once per turn of the
 * event loop, in order, every line kept; warnings and errors are not held back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Reporter } from '../../src/cli/reporter.js';

class Writes {
  readonly writes: string[] = [];
  write(text: string): boolean {
    this.writes.push(text);
    return true;
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const messages = (writes: string[]) => writes.join('').split('\n').filter(Boolean).map((l) => /msg="([^"]*)"/.exec(l)?.[1]);

test('info lines logged in one turn go out in one write at its end, in order', async () => {
  const err = new Writes();
  const reporter = new Reporter({ json: false, quiet: false, verbose: false }, err, new Writes());
  reporter.batchLines();
  for (let i = 0; i < 3; i++) reporter.log('info', 'request', { status: 200, n: i });
  assert.equal(err.writes.length, 0, 'nothing is written before the turn ends');
  await nextTurn();
  assert.equal(err.writes.length, 1);
  assert.deepEqual(messages(err.writes), ['request', 'request', 'request']);
  assert.match(err.writes[0]!, /n=0[\s\S]*n=1[\s\S]*n=2\n$/);
  reporter.log('info', 'later');
  await nextTurn();
  assert.deepEqual(messages(err.writes), ['request', 'request', 'request', 'later'], 'the next turn gets its own write');
});

test('a warning or an error is written at once, after the lines logged before it', async () => {
  const err = new Writes();
  const reporter = new Reporter({ json: false, quiet: false, verbose: false }, err, new Writes());
  reporter.batchLines();
  reporter.log('info', 'request');
  reporter.log('error', 'request failed');
  assert.deepEqual(messages(err.writes), ['request', 'request failed']);
  await nextTurn();
  assert.equal(err.writes.length, 1, 'nothing left to write');
});

test('without batchLines every line is written as it is logged', () => {
  const err = new Writes();
  const reporter = new Reporter({ json: false, quiet: false, verbose: false }, err, new Writes());
  reporter.log('info', 'a');
  reporter.log('info', 'b');
  assert.equal(err.writes.length, 2);
});

test('with a write limit (processes sharing stderr), a turn goes out in whole lines, no write over the limit', async () => {
  const err = new Writes();
  const reporter = new Reporter({ json: false, quiet: false, verbose: false }, err, new Writes());
  reporter.batchLines(300);
  for (let i = 0; i < 40; i++) reporter.log('info', 'request', { path: '/api/recall', 表情: '我太难了', n: i });
  await nextTurn();
  assert.ok(err.writes.length > 1, `split into ${err.writes.length} writes`);
  for (const text of err.writes) {
    assert.ok(Buffer.byteLength(text) <= 300, `a write of ${Buffer.byteLength(text)} bytes`);
    assert.ok(text.endsWith('\n') && text.startsWith('time='), 'whole lines only');
  }
  assert.deepEqual(err.writes.join('').split('\n').filter(Boolean).map((l) => Number(/ n=(\d+)/.exec(l)?.[1])), [...Array(40).keys()], 'every line, in order');
});
