/**
 * The resilience module, piece by piece, on a clock the test drives:
 * backoff, Retry-After, the retryable rule, sleep and abort reasons, the rpm
 * bucket, the AIMD limit and the Retry-After pause. The circuit breaker is
 * test/unit/circuit-breaker.test.ts; their composition, provider-gate.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortedError } from '../../src/errors.js';
import { AdaptiveLimit } from '../../src/resilience/adaptive-limit.js';
import { backoffCeiling, defaultFailurePolicy, retryDelayMs, scheduleAfterFailure } from '../../src/resilience/backoff.js';
import { abortReason, sleep, untilAborted } from '../../src/resilience/clock.js';
import { ProviderPause, ProviderPauses } from '../../src/resilience/provider-pause.js';
import { parseRetryAfter } from '../../src/resilience/retry-after.js';
import { failsEveryWrite, isNetworkError, isRateLimited, isRetryableStatus, isTlsError } from '../../src/resilience/retryable.js';
import { TokenBucket } from '../../src/resilience/token-bucket.js';
import { ManualClock, settle } from '../helpers/manual-clock.js';

describe('backoff', () => {
  const policy = { baseDelayMs: 500, maxDelayMs: 8000 };
  test('full jitter stays within [0, base·2^(n-1)] and is capped', () => {
    for (const [retry, ceiling] of [[1, 500], [2, 1000], [3, 2000], [4, 4000], [5, 8000], [9, 8000]] as const) {
      assert.equal(retryDelayMs(retry, policy, undefined, () => 0), 0);
      const top = retryDelayMs(retry, policy, undefined, () => 0.999999);
      assert.ok(top < ceiling && top >= ceiling - 1, `retry ${retry}: ${top} vs ${ceiling}`);
    }
  });
  test('full jitter spreads values over the whole range', () => {
    const values = Array.from({ length: 2000 }, () => retryDelayMs(3, policy));
    assert.ok(Math.min(...values) < 200, 'some retries come back early');
    assert.ok(Math.max(...values) > 1800, 'some come back late');
  });
  test('never less than Retry-After', () => {
    assert.equal(retryDelayMs(1, policy, 1000, () => 0.9), 1000);
    assert.equal(retryDelayMs(5, policy, 1000, () => 0.5), 4000);
  });
  test('across runs: equal jitter between half the ceiling and the ceiling; dead after maxAttempts or when permanent', () => {
    const now = new Date(0);
    const delay = (attempt: number, r: number) => {
      const s = scheduleAfterFailure(attempt, false, defaultFailurePolicy, now, () => r);
      assert.equal(s.status, 'failed');
      return s.nextRetryAt!.getTime();
    };
    assert.deepEqual([delay(1, 0), delay(1, 0.5), delay(3, 0), delay(3, 1)], [500, 750, 2000, 4000]);
    assert.equal(backoffCeiling(20, defaultFailurePolicy), 3_600_000);
    assert.deepEqual(scheduleAfterFailure(6, false, defaultFailurePolicy, now), { status: 'dead', nextRetryAt: null });
    assert.deepEqual(scheduleAfterFailure(1, true, defaultFailurePolicy, now), { status: 'dead', nextRetryAt: null });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  test('seconds', () => {
    assert.equal(parseRetryAfter('1', now), 1000);
    assert.equal(parseRetryAfter(' 120 ', now), 120_000);
    assert.equal(parseRetryAfter('0.5', now), 500);
  });
  test('HTTP date, relative to now, never negative', () => {
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now), 0);
  });
  test('missing or unreadable', () => {
    for (const v of [undefined, null, '', 'soon', '-1', '2025']) {
      assert.equal(parseRetryAfter(v, now), v === '2025' ? 2_025_000 : undefined, String(v));
    }
  });
});

describe('the retryable rule', () => {
  test('408 / 425 / 429 / 5xx retry; other 4xx, 501 and 505 do not', () => {
    for (const s of [408, 425, 429, 500, 502, 503, 504, 599]) assert.equal(isRetryableStatus(s), true, String(s));
    for (const s of [400, 401, 403, 404, 409, 412, 422, 501, 505]) assert.equal(isRetryableStatus(s), false, String(s));
  });
  test('rate limits: 429, or 503 with Retry-After', () => {
    assert.equal(isRateLimited(429, undefined), true);
    assert.equal(isRateLimited(503, 1000), true);
    assert.equal(isRateLimited(503, undefined), false);
    assert.equal(isRateLimited(500, 1000), false);
  });
  test('network errors retry; TLS errors never do', () => {
    const wrapped = (code: string) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });
    assert.equal(isNetworkError(wrapped('ECONNREFUSED')), true);
    assert.equal(isNetworkError(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), true);
    assert.equal(isNetworkError(wrapped('CERT_HAS_EXPIRED')), false);
    assert.equal(isTlsError(wrapped('DEPTH_ZERO_SELF_SIGNED_CERT')), true);
    assert.equal(isNetworkError(new RangeError('a bug')), false);
  });
  test('storage failures that fail every write', () => {
    for (const [code, status] of [['ENOSPC'], ['EROFS'], ['EACCES'], ['NoSuchBucket', 404], ['AccessDenied', 403], [undefined, 401]] as const) {
      assert.equal(failsEveryWrite(code, status), true, `${code} ${status}`);
    }
    for (const [code, status] of [['ECONNRESET'], ['InternalError', 500], ['SlowDown', 503], [undefined, undefined]] as const) {
      assert.equal(failsEveryWrite(code, status), false, `${code} ${status}`);
    }
  });
});

describe('clock helpers', () => {
  test('sleep rejects with the signal reason; abortReason reads errors, strings or nothing', async () => {
    const ac = new AbortController();
    const waiting = sleep(60_000, ac.signal);
    ac.abort('interrupted by SIGINT');
    await assert.rejects(waiting, (e) => e === 'interrupted by SIGINT');
    assert.equal(abortReason(ac.signal), 'interrupted by SIGINT');
    assert.equal(abortReason(AbortSignal.abort(new AbortedError('provider down'))), 'provider down');
    const bare = new AbortController();
    bare.abort(42);
    assert.equal(abortReason(bare.signal), 'interrupted');
  });
  test('untilAborted lets go of a promise that never settles', async () => {
    const ac = new AbortController();
    const forever = untilAborted(new Promise(() => undefined), ac.signal);
    ac.abort(new Error('stop'));
    await assert.rejects(forever, /stop/);
    assert.equal(await untilAborted(Promise.resolve(7), ac.signal).catch(() => 'aborted first'), 'aborted first');
    assert.equal(await untilAborted(Promise.resolve(7)), 7);
  });
});

describe('TokenBucket', () => {
  test('spaces requests at rpm after the burst, in arrival order', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(60, { burst: 2, clock });
    const at: number[] = [];
    await clock.run(Promise.all(Array.from({ length: 5 }, () => bucket.take().then(() => at.push(clock.t)))));
    assert.deepEqual(at, [0, 0, 1000, 2000, 3000]);
  });
  test('default burst is one second of quota; refills while idle, up to the burst only', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(600, { clock }); // 10 per second
    for (let i = 0; i < 10; i++) await bucket.take();
    assert.equal(clock.t, 0);
    await clock.run(bucket.take());
    assert.equal(clock.now(), 100);
    await clock.advance(60_000);
    for (let i = 0; i < 10; i++) await bucket.take();
    await clock.run(bucket.take());
    assert.equal(clock.t, 60_200);
  });
  test('an aborted wait gives up at once and takes no token', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(60, { burst: 1, clock });
    await bucket.take();
    const ac = new AbortController();
    const aborted = bucket.take(ac.signal);
    const next = bucket.take();
    ac.abort(new Error('stop'));
    await assert.rejects(aborted, /stop/);
    await clock.run(next);
    assert.equal(clock.t, 1000, 'the next caller got the token the aborted one gave up');
  });
});

describe('AdaptiveLimit (AIMD)', () => {
  test('halves once per round trip on 429, never below 1, then grows back by one per window of successes', async () => {
    const changes: number[] = [];
    const limit = new AdaptiveLimit(16, (n) => changes.push(n));
    const round = await Promise.all(Array.from({ length: 16 }, () => limit.acquire()));
    for (const slot of round) limit.rateLimited(slot); // 16 answers to one round: one halving
    for (const slot of round) slot.release();
    assert.equal(limit.limit, 8);
    const second = await limit.acquire();
    limit.rateLimited(second);
    second.release();
    assert.equal(limit.limit, 4);
    for (let i = 0; i < 3; i++) {
      const s = await limit.acquire();
      limit.rateLimited(s);
      s.release();
    }
    assert.equal(limit.limit, 1);
    for (let i = 0; i < 1 + 2 + 3; i++) limit.succeeded();
    assert.equal(limit.limit, 4);
    assert.deepEqual(changes, [8, 4, 2, 1, 2, 3, 4]);
  });
  test('holds the limit across waiters, in arrival order; an aborted waiter leaves the queue', async () => {
    const limit = new AdaptiveLimit(2);
    const a = await limit.acquire();
    const b = await limit.acquire();
    const order: string[] = [];
    const ac = new AbortController();
    const gone = limit.acquire(ac.signal);
    const c = limit.acquire().then((s) => (order.push('c'), s));
    const d = limit.acquire().then((s) => (order.push('d'), s));
    ac.abort(new Error('stop'));
    await assert.rejects(gone, /stop/);
    assert.equal(limit.active, 2);
    a.release();
    a.release(); // twice is harmless
    await settle();
    assert.deepEqual(order, ['c']);
    b.release();
    await Promise.all([c, d]);
    assert.deepEqual(order, ['c', 'd']);
  });
});

describe('ProviderPause', () => {
  test('one pause per base URL and key; only a new pause is announced; it is extended, never shortened', async () => {
    const clock = new ManualClock();
    const pauses = new ProviderPauses(clock);
    const pause = pauses.for('http://api.example/v1/', 'sk-one');
    assert.equal(pauses.for('http://api.example/v1', 'sk-one'), pause);
    assert.notEqual(pauses.for('http://api.example/v1', 'sk-two'), pause);
    assert.equal(pause.hold(1000), true);
    assert.equal(pause.hold(500), false);
    assert.equal(pause.hold(2000), false);
    assert.equal(pause.remaining(), 2000);
    const lead = await clock.run(pause.pass());
    assert.equal(clock.t, 2000);
    lead();
    assert.equal(pause.hold(100), true, 'a pause after the last one ended is new');
  });
  test('after a pause ONE request goes first; the rest follow its answer, or wait out the pause it brought', async () => {
    const clock = new ManualClock();
    const pause = new ProviderPause(clock);
    pause.hold(1000);
    const passed: number[] = [];
    const lead = clock.run(pause.pass());
    const others = [1, 2, 3].map(() =>
      pause.pass().then((done) => {
        passed.push(clock.t);
        done(); // an answer at once
      }),
    );
    const done = await lead;
    await clock.advance(50);
    assert.deepEqual(passed, [], 'nobody else goes while the first request is out');
    pause.hold(1000); // its answer: another 429
    done();
    await clock.run(Promise.all(others));
    assert.deepEqual(passed, [2050, 2050, 2050]);
  });
  test('a wait ends early when its signal aborts; so does a wait behind the first request', async () => {
    const pause = new ProviderPause(new ManualClock());
    pause.hold(60_000);
    await assert.rejects(pause.pass(AbortSignal.abort(new Error('stop'))), /stop/);
  });
});
