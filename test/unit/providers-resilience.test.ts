/** The small pure pieces of provider resilience: backoff, Retry-After, rate limit, breaker, the guard's decisions. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortedError, ProviderError } from '../../src/errors.js';
import { makeRedactor } from '../../src/redact.js';
import { retryDelayMs } from '../../src/providers/resilience/backoff.js';
import { CallGuard } from '../../src/providers/resilience/call-guard.js';
import { CircuitBreaker, ProviderAbortedError } from '../../src/providers/resilience/circuit-breaker.js';
import { TokenBucket, type Clock } from '../../src/providers/resilience/rate-limiter.js';
import { RemoteCallError, classifyFailure } from '../../src/providers/resilience/remote-failure.js';
import { parseRetryAfter } from '../../src/providers/resilience/retry-after.js';

/** A clock whose sleeps advance virtual time at once and are recorded. */
function fakeClock(): Clock & { t: number; sleeps: number[] } {
  const clock = {
    t: 0,
    sleeps: [] as number[],
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
  return clock;
}

describe('retryDelayMs (exponential backoff, full jitter)', () => {
  const policy = { baseDelayMs: 500, maxDelayMs: 8000 };
  test('stays within [0, base·2^(n-1)] and is capped', () => {
    for (const [retry, ceiling] of [[1, 500], [2, 1000], [3, 2000], [4, 4000], [5, 8000], [9, 8000]] as const) {
      assert.equal(retryDelayMs(retry, policy, undefined, () => 0), 0);
      const top = retryDelayMs(retry, policy, undefined, () => 0.999999);
      assert.ok(top < ceiling && top >= ceiling - 1, `retry ${retry}: ${top} vs ${ceiling}`);
    }
  });
  test('spreads values over the whole range (full jitter, not equal jitter)', () => {
    const values = Array.from({ length: 2000 }, () => retryDelayMs(3, policy, undefined));
    assert.ok(Math.min(...values) < 200, 'some retries come back early');
    assert.ok(Math.max(...values) > 1800, 'some come back late');
  });
  test('never less than Retry-After', () => {
    assert.equal(retryDelayMs(1, policy, 1000, () => 0.9), 1000);
    assert.equal(retryDelayMs(5, policy, 1000, () => 0.5), 4000);
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

describe('TokenBucket', () => {
  test('spaces requests at rpm after the burst, in arrival order', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(60, { burst: 2, clock });
    const at: number[] = [];
    await Promise.all(Array.from({ length: 5 }, () => bucket.take().then(() => at.push(clock.t))));
    assert.deepEqual(at, [0, 0, 1000, 2000, 3000]);
  });
  test('default burst is one second of quota', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(600, { clock }); // 10 per second
    for (let i = 0; i < 10; i++) await bucket.take();
    assert.equal(clock.t, 0);
    await bucket.take();
    assert.equal(clock.t, 100);
  });
  test('refills while idle, up to the burst only', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(60, { burst: 1, clock });
    await bucket.take();
    clock.t += 60_000;
    await bucket.take();
    assert.equal(clock.t, 60_000);
    await bucket.take();
    assert.equal(clock.t, 61_000);
  });
});

describe('CircuitBreaker', () => {
  test('opens after N consecutive failures; a success resets the count', () => {
    const breaker = new CircuitBreaker(3);
    assert.equal(breaker.recordFailure(), false);
    assert.equal(breaker.recordFailure(), false);
    breaker.recordSuccess();
    assert.equal(breaker.recordFailure(), false);
    assert.equal(breaker.recordFailure(), false);
    assert.equal(breaker.recordFailure(), true);
  });
  test('stays open with the first reason', () => {
    const breaker = new CircuitBreaker(1);
    breaker.check();
    const first = breaker.open(new ProviderAbortedError('jina', 'first'));
    breaker.open(new ProviderAbortedError('jina', 'second'));
    assert.throws(() => breaker.check(), (err) => err === first && err instanceof AbortedError);
  });
});

describe('CallGuard', () => {
  const SECRET = 'sk-test-SECRETSECRET123';
  const identity = { what: 'embedding "jina"', provider: 'jina', model: 'jina-embeddings-v3', keyEnv: 'JINA_API_KEY' };
  const guard = (over: Partial<ConstructorParameters<typeof CallGuard>[0]> = {}) => {
    const clock = fakeClock();
    const g = new CallGuard({ identity, retries: 3, timeoutMs: 1000, concurrency: 2, redact: makeRedactor([SECRET]), clock, random: () => 0.5, ...over });
    return { g, clock };
  };
  const http = (status: number, retryAfterMs?: number) =>
    new RemoteCallError('jina', `HTTP ${status} for key ${SECRET}`, status, status === 429 || status >= 500, retryAfterMs);

  test('retries 429 / 5xx with backoff, honouring Retry-After, then succeeds', async () => {
    const { g, clock } = guard();
    let calls = 0;
    const result = await g.run(async () => {
      calls++;
      if (calls === 1) throw http(429, 2000);
      if (calls === 2) throw http(503);
      return 'ok';
    });
    assert.equal(result, 'ok');
    assert.equal(calls, 3);
    assert.deepEqual(clock.sleeps, [2000, 500]); // max(Retry-After, jitter), then 0.5 · 1000
  });

  test('no retry on 400 / 404; gives up after retry_count on 5xx', async () => {
    for (const status of [400, 404]) {
      const { g } = guard();
      let calls = 0;
      await assert.rejects(g.run(async () => (calls++, Promise.reject(http(status)))), (err: ProviderError) => err.status === status);
      assert.equal(calls, 1, `status ${status}`);
    }
    const { g } = guard({ retries: 2 });
    let calls = 0;
    await assert.rejects(g.run(async () => (calls++, Promise.reject(http(500)))), (err: ProviderError) => err.retryable);
    assert.equal(calls, 3);
  });

  test('401 opens the circuit at once; the message names the variable, never the key', async () => {
    const { g } = guard();
    let calls = 0;
    const err = await g.run(async () => (calls++, Promise.reject(http(401)))).catch((e: unknown) => e);
    assert.ok(err instanceof ProviderAbortedError && err instanceof AbortedError);
    assert.equal(calls, 1);
    assert.match(err.message, /embedding "jina" \(model jina-embeddings-v3\) rejected the API key in JINA_API_KEY \(HTTP 401\)/);
    assert.doesNotMatch(err.message, /SECRET/);
    await assert.rejects(g.run(async () => 'never called'), (e) => e === err);
  });

  test('N consecutive failed calls open the circuit; the last error is named, redacted', async () => {
    const { g } = guard({ retries: 0, breakerThreshold: 3 });
    const fail = () => g.run(async () => Promise.reject(http(502)));
    await assert.rejects(fail(), (e) => e instanceof RemoteCallError);
    await assert.rejects(fail(), (e) => e instanceof RemoteCallError);
    const err = await fail().catch((e: unknown) => e);
    assert.ok(err instanceof ProviderAbortedError);
    assert.match(err.message, /failed 3 calls in a row.*HTTP 502/);
    assert.doesNotMatch(err.message, /SECRET/);
  });

  test('a hanging call times out and is retried; a Retry-After beyond the limit is not waited for', async () => {
    const { g } = guard({ timeoutMs: 30, retries: 1, clock: undefined, backoff: { baseDelayMs: 1, maxDelayMs: 1 } });
    let calls = 0;
    const started = Date.now();
    const result = await g.run((signal) => {
      calls++;
      if (calls === 1) return new Promise<string>(() => undefined); // ignores its signal entirely
      return Promise.resolve(signal.aborted ? 'aborted?' : 'second');
    });
    assert.equal(result, 'second');
    assert.ok(Date.now() - started < 1000);

    const { g: g2, clock } = guard({ maxRetryAfterMs: 10_000 });
    await assert.rejects(g2.run(async () => Promise.reject(http(429, 3_600_000))), (e: ProviderError) => e.status === 429);
    assert.deepEqual(clock.sleeps, []);
  });

  test('concurrency cap holds across callers', async () => {
    const { g } = guard({ concurrency: 2, clock: undefined });
    let inFlight = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        g.run(async () => {
          peak = Math.max(peak, ++inFlight);
          await new Promise((r) => setTimeout(r, 10));
          inFlight--;
        }),
      ),
    );
    assert.equal(peak, 2);
  });

  test('classifies network errors and bad JSON as retryable, with the key scrubbed', () => {
    const redact = makeRedactor([SECRET]);
    const net = classifyFailure(Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(`connect ECONNREFUSED ${SECRET}`), { code: 'ECONNREFUSED' }) }), identity, redact);
    assert.equal(net.retryable, true);
    assert.match(net.message, /network error/);
    assert.doesNotMatch(net.message, /SECRET/);
    assert.equal(classifyFailure(new SyntaxError('Unexpected end of JSON input'), identity, redact).retryable, true);
    assert.equal(classifyFailure(new Error('x'), identity, redact, 5000).message, 'embedding "jina" (model jina-embeddings-v3): no answer within 5 s');
    assert.equal(classifyFailure(new RangeError('a bug'), identity, redact).retryable, false);
  });
});
