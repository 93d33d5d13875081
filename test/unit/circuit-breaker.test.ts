/** The circuit breaker on a clock the test drives: open, half-open with one probe, closed, stopped. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortedError } from '../../src/errors.js';
import { CircuitBreaker, ProviderAbortedError, type BreakerState } from '../../src/resilience/circuit-breaker.js';
import { ManualClock } from '../helpers/manual-clock.js';

describe('CircuitBreaker', () => {
  const make = (clock: ManualClock, over: Partial<ConstructorParameters<typeof CircuitBreaker>[0]> = {}) => {
    const states: BreakerState[] = [];
    const breaker = new CircuitBreaker({
      label: 'vlm "openai" (model m)', provider: 'openai', threshold: 3, cooldownMs: 1000, maxOpenMs: 10_000, clock,
      onChange: (state) => states.push(state), ...over,
    });
    return { breaker, states };
  };

  test('opens after N transient failures in a row; a success in between resets the count', async () => {
    const { breaker } = make(new ManualClock());
    breaker.failure('normal', 'HTTP 500');
    breaker.failure('normal', 'HTTP 500');
    breaker.success();
    breaker.failure('normal', 'HTTP 500');
    breaker.failure('normal', 'HTTP 500');
    assert.equal(breaker.state, 'closed');
    breaker.failure('normal', 'HTTP 500');
    assert.equal(breaker.state, 'open');
  });

  test('open: callers wait the cool-down, ONE probes; its success closes the circuit and releases the rest', async () => {
    const clock = new ManualClock();
    const { breaker, states } = make(clock);
    for (let i = 0; i < 3; i++) breaker.failure('normal', 'HTTP 503');
    const permits: string[] = [];
    const callers = Array.from({ length: 4 }, () => breaker.admit().then((p) => permits.push(p)));
    await clock.advance(999);
    assert.deepEqual(permits, []);
    await clock.advance(1);
    assert.deepEqual(permits, ['probe']);
    assert.equal(breaker.state, 'half-open');
    breaker.success();
    await Promise.all(callers);
    assert.deepEqual(permits, ['probe', 'normal', 'normal', 'normal']);
    assert.deepEqual(states, ['open', 'half-open', 'closed']);
  });

  test('a failed probe reopens for another cool-down; an outage past maxOpenMs stops every caller', async () => {
    const clock = new ManualClock();
    const { breaker } = make(clock, { maxOpenMs: 2500 });
    for (let i = 0; i < 3; i++) breaker.failure('normal', 'HTTP 503: down');
    assert.equal(await clock.run(breaker.admit()), 'probe');
    assert.equal(clock.t, 1000);
    const waiting = breaker.admit();
    breaker.failure('probe', 'HTTP 503: still down');
    assert.equal(await clock.run(waiting), 'probe');
    assert.equal(clock.t, 2000);
    const late = breaker.admit();
    breaker.failure('probe', 'HTTP 503: still down');
    assert.equal(await clock.run(late), 'probe');
    assert.equal(clock.t, 3000);
    breaker.failure('probe', 'HTTP 503: still down');
    assert.equal(breaker.state, 'stopped');
    const err = await breaker.admit().catch((e: unknown) => e);
    assert.ok(err instanceof ProviderAbortedError && err instanceof AbortedError);
    assert.match(err.message, /has failed every request for 3 s, stopping the run; last error: HTTP 503: still down/);
  });

  test('stop() (a rejected key) is final and keeps its first reason; refused calls in a row stop too', async () => {
    const { breaker } = make(new ManualClock());
    const first = breaker.stop(new ProviderAbortedError('openai', 'key rejected'));
    breaker.stop(new ProviderAbortedError('openai', 'second'));
    await assert.rejects(breaker.admit(), (e) => e === first);
    const { breaker: b2 } = make(new ManualClock());
    assert.equal(b2.refused('HTTP 400: bad model'), undefined);
    b2.success();
    assert.equal(b2.refused('HTTP 400'), undefined);
    assert.equal(b2.refused('HTTP 400'), undefined);
    assert.match(b2.refused('HTTP 404: no such model', 404)!.message, /refused 3 calls in a row, stopping the run; last error: HTTP 404/);
  });

  test('an abandoned probe lets the next caller probe at once; a waiting caller leaves when its signal aborts', async () => {
    const clock = new ManualClock();
    const { breaker } = make(clock);
    for (let i = 0; i < 3; i++) breaker.failure('normal', 'timeout');
    assert.equal(await clock.run(breaker.admit()), 'probe');
    const ac = new AbortController();
    const leaving = breaker.admit(ac.signal);
    ac.abort(new Error('SIGTERM'));
    await assert.rejects(leaving, /SIGTERM/);
    const next = breaker.admit();
    breaker.abandon('probe');
    assert.equal(await next, 'probe');
    assert.equal(clock.pending, 0, 'no timer outlives a wait');
  });
});
