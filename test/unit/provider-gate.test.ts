/**
 * The provider gate's decisions on a clock the test drives: retries with
 * backoff, the shared Retry-After pause, AIMD, the circuit through an outage,
 * stopping on a rejected key, and how an error from a provider is classified.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortedError, ProviderError } from '../../src/errors.js';
import { RemoteCallError, classifyFailure } from '../../src/providers/remote-failure.js';
import { makeRedactor } from '../../src/redact.js';
import { ProviderAbortedError } from '../../src/resilience/circuit-breaker.js';
import { ProviderGate, type GateOptions } from '../../src/resilience/provider-gate.js';
import { ProviderPause } from '../../src/resilience/provider-pause.js';
import { ManualClock } from '../helpers/manual-clock.js';

const SECRET = 'sk-test-SECRETSECRET123';
const identity = { what: 'embedding "jina"', provider: 'jina', model: 'jina-embeddings-v3', keyEnv: 'JINA_API_KEY' };
const redact = makeRedactor([SECRET]);
const http = (status: number, retryAfterMs?: number) =>
  new RemoteCallError('jina', `HTTP ${status} for key ${SECRET}`, status, status === 429 || status >= 500, retryAfterMs);

function gate(over: Partial<GateOptions> & { clock?: ManualClock } = {}) {
  const clock = over.clock ?? new ManualClock();
  const logs: string[] = [];
  const g = new ProviderGate({
    label: 'embedding "jina" (model jina-embeddings-v3)', provider: 'jina', keyEnv: 'JINA_API_KEY',
    retries: 3, timeoutMs: 1000, concurrency: 4, breakerThreshold: 3, probeIntervalMs: 1000, maxOutageMs: 60_000,
    redact,
    classify: (err, t) => classifyFailure(err, identity, redact, t),
    log: (level, message) => logs.push(`${level}: ${message}`),
    clock, random: () => 0.5, ...over,
  });
  return { g, clock, logs };
}

/** A fake provider call: answers from a script (an error to throw, or a value), recording when each request went out. */
function scripted(clock: ManualClock, answers: Array<Error | string>, fallback: Error | string = 'ok') {
  const sent: number[] = [];
  const call = async () => {
    sent.push(clock.now());
    const a = answers.shift() ?? fallback;
    if (a instanceof Error) throw a;
    return a;
  };
  return { call, sent };
}

describe('ProviderGate', () => {
  test('retries 5xx with backoff and full jitter, then succeeds', async () => {
    const { g, clock } = gate();
    const { call, sent } = scripted(clock, [http(503), http(502)]);
    assert.equal(await clock.run(g.run(call)), 'ok');
    assert.deepEqual(sent, [0, 250, 750]); // 0.5 · 500, then 0.5 · 1000
  });

  test('no retry on 400 / 404; gives up after retry_count on 5xx; refused calls in a row stop the run', async () => {
    for (const status of [400, 404]) {
      const { g, clock } = gate();
      const { call, sent } = scripted(clock, [http(status)]);
      await assert.rejects(clock.run(g.run(call)), (err: ProviderError) => err.status === status);
      assert.equal(sent.length, 1, `status ${status}`);
    }
    const { g, clock } = gate({ retries: 2, breakerThreshold: 10 });
    const { call, sent } = scripted(clock, [], http(500));
    await assert.rejects(clock.run(g.run(call)), (err: ProviderError) => err.retryable);
    assert.equal(sent.length, 3);
    const refusing = gate();
    const bad = scripted(refusing.clock, [], http(400));
    await assert.rejects(refusing.clock.run(refusing.g.run(bad.call)), (e) => e instanceof RemoteCallError);
    await assert.rejects(refusing.clock.run(refusing.g.run(bad.call)), (e) => e instanceof RemoteCallError);
    const stopped = await refusing.clock.run(refusing.g.run(bad.call)).catch((e: unknown) => e);
    assert.ok(stopped instanceof ProviderAbortedError);
    assert.match(stopped.message, /refused 3 calls in a row, stopping the run; last error: .*HTTP 400/);
    assert.doesNotMatch(stopped.message, /SECRET/);
  });

  test('401 stops the run at once; the message names the variable, never the key', async () => {
    const { g, clock } = gate();
    const { call, sent } = scripted(clock, [http(401)]);
    const err = await clock.run(g.run(call)).catch((e: unknown) => e);
    assert.ok(err instanceof ProviderAbortedError && err instanceof AbortedError);
    assert.equal(sent.length, 1);
    assert.match(err.message, /embedding "jina" \(model jina-embeddings-v3\) rejected the API key in JINA_API_KEY \(HTTP 401\)/);
    assert.doesNotMatch(err.message, /SECRET/);
    await assert.rejects(g.run(async () => 'never called'), (e) => e === err);
  });

  test('a 429 with Retry-After pauses EVERY caller of the provider, shared by base URL and key, logged once', async () => {
    const clock = new ManualClock();
    const pause = new ProviderPause(clock); // what ProviderPauses hands to every gate of one base URL and key
    const { g, logs } = gate({ clock, pause });
    const other = gate({ clock, pause }).g; // a second model on the same endpoint and key
    const first = scripted(clock, [http(429, 2000), http(429, 2000)]);
    const calls = [g.run(first.call), g.run(first.call), g.run(first.call), other.run(first.call)];
    await clock.run(Promise.all(calls));
    // The first two went out together and got 429; nobody sent again until the pause of 2 s was over.
    assert.deepEqual(first.sent.slice(0, 4), [0, 0, 0, 0]);
    assert.ok(first.sent.slice(4).every((t) => t >= 2000), `sent at ${first.sent.join(', ')}`);
    assert.equal(logs.filter((l) => /pausing every request/.test(l)).length, 1, logs.join('\n'));
    assert.match(logs.find((l) => /pausing/.test(l))!, /^warn: embedding "jina" .* answered HTTP 429 with Retry-After 2 s: pausing every request to it for 2 s$/);
  });

  test('the rpm limit and the pause compose: after the pause, requests still keep to the rate', async () => {
    const { g, clock } = gate({ rpm: 60, concurrency: 4 }); // one a second, a burst of one
    const { call, sent } = scripted(clock, [http(429, 2500)]);
    await clock.run(Promise.all(Array.from({ length: 4 }, () => g.run(call))));
    assert.equal(sent[0], 0);
    const after = sent.slice(1);
    assert.ok(after.every((t) => t >= 2500), `sent at ${sent.join(', ')}`);
    assert.ok(after.every((t, i) => i === 0 || t - after[i - 1]! >= 1000), `sent at ${sent.join(', ')}`);
  });

  test('a Retry-After longer than the limit stops the run instead of stalling it', async () => {
    const { g, clock } = gate({ maxRetryAfterMs: 10_000 });
    const { call, sent } = scripted(clock, [http(429, 3_600_000)]);
    const err = await clock.run(g.run(call)).catch((e: unknown) => e);
    assert.ok(err instanceof ProviderAbortedError);
    assert.match(err.message, /asks to wait 60 min \(HTTP 429, Retry-After\), longer than the 10 s emomo waits/);
    assert.equal(sent.length, 1);
  });

  test('429 without Retry-After halves the concurrency (AIMD) and it grows back after successes', async () => {
    const { g, clock, logs } = gate({ concurrency: 8, retries: 5 });
    const { call } = scripted(clock, [http(429), http(429)]);
    await clock.run(Promise.all(Array.from({ length: 8 }, () => g.run(call))));
    assert.ok(g.concurrency < 8 && g.concurrency >= 4, `limit ${g.concurrency}`);
    assert.match(logs.join('\n'), /info: embedding "jina" .*: concurrency 4 of 8 \(it answers 429\)/);
    for (let i = 0; i < 40; i++) await clock.run(g.run(call));
    assert.equal(g.concurrency, 8);
    assert.match(logs.join('\n'), /debug: .*concurrency 6 of 8.*\ninfo: .*concurrency 8 of 8, full again/s);
  });

  test('an outage: the circuit opens, calls WAIT instead of failing, one probe per interval, then all resume', async () => {
    const { g, clock, logs } = gate({ retries: 3 });
    let down = true;
    const sent: Array<{ t: number; down: boolean }> = [];
    const call = async () => {
      sent.push({ t: clock.now(), down });
      if (down) throw http(503);
      return 'ok';
    };
    const calls = Promise.all(Array.from({ length: 4 }, () => g.run(call)));
    await clock.advance(3_500);
    assert.equal(g.circuit, 'open');
    const probes = sent.filter((s) => s.t > 0);
    assert.deepEqual(probes.map((p) => p.t), [1000, 2000, 3000], 'only one probe per interval went out');
    down = false;
    assert.deepEqual(await clock.run(calls), ['ok', 'ok', 'ok', 'ok']);
    assert.equal(g.circuit, 'closed');
    assert.equal(sent.filter((s) => !s.down)[0]!.t, 4000, 'the next probe found it back');
    assert.match(logs.join('\n'), /warn: .* failed 3 requests in a row; pausing it, one probe every 1 s \(the run stops after 1 min\)/);
    assert.match(logs.join('\n'), /info: .* answers again after 4 s; resuming/);
  });

  test('a call whose probes keep failing (its own poison input) runs out of retries instead of waiting for ever', async () => {
    const { g, clock } = gate({ retries: 2, breakerThreshold: 2 });
    const { call, sent } = scripted(clock, [], http(500));
    await assert.rejects(clock.run(g.run(call)), (e: ProviderError) => e.status === 500);
    assert.ok(sent.length <= 5, `${sent.length} attempts`);
  });

  test('an outage longer than max_outage stops the run with the last error', async () => {
    const { g, clock } = gate({ maxOutageMs: 5_000, retries: 20 });
    const { call } = scripted(clock, [], http(503));
    const results = await clock.run(Promise.allSettled(Array.from({ length: 3 }, () => g.run(call))));
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok((r as PromiseRejectedResult).reason instanceof ProviderAbortedError);
    }
    assert.match((results[0] as PromiseRejectedResult).reason.message, /has failed every request for [56] s, stopping the run; last error: .*HTTP 503/);
    assert.ok(clock.now() <= 7_000);
  });

  test("the run's stop signal ends every wait with an AbortedError; requests already out finish", async () => {
    const stop = new AbortController();
    const { g, clock } = gate({ stop: stop.signal });
    const { call } = scripted(clock, [http(429, 60_000)]);
    const waiting = g.run(call);
    await clock.advance(10);
    stop.abort('interrupted by SIGTERM');
    const err = await waiting.catch((e: unknown) => e);
    assert.ok(err instanceof AbortedError);
    assert.equal(err.message, 'interrupted by SIGTERM');
  });

  test('a hanging call times out and is retried (real time); the concurrency cap holds across callers', async () => {
    const { g } = gate({ timeoutMs: 30, retries: 1, clock: undefined, backoff: { baseDelayMs: 1, maxDelayMs: 1 } });
    let calls = 0;
    const started = Date.now();
    const result = await g.run((signal) => {
      calls++;
      if (calls === 1) return new Promise<string>(() => undefined); // ignores its signal entirely
      return Promise.resolve(signal.aborted ? 'aborted?' : 'second');
    });
    assert.equal(result, 'second');
    assert.ok(Date.now() - started < 1000);
    let inFlight = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        g.run(async () => {
          peak = Math.max(peak, ++inFlight);
          await new Promise((r) => setTimeout(r, 5));
          inFlight--;
        }),
      ),
    );
    assert.equal(peak, 4);
  });
});

describe('classifyFailure', () => {
  test('network errors and bad JSON are retryable, with the key scrubbed; our timeout says so; a bug is not retried', () => {
    const net = classifyFailure(Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(`connect ECONNREFUSED ${SECRET}`), { code: 'ECONNREFUSED' }) }), identity, redact);
    assert.equal(net.retryable, true);
    assert.match(net.message, /network error: connect ECONNREFUSED/, 'the cause is named, not "fetch failed"');
    assert.doesNotMatch(net.message, /SECRET/);
    // The openai package wraps it once more ("Connection error." ← "fetch failed" ← the socket error).
    const wrapped = Object.assign(new Error('Connection error.'), {
      name: 'APIConnectionError',
      cause: Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('getaddrinfo ENOTFOUND api.example'), { code: 'ENOTFOUND' }) }),
    });
    assert.match(classifyFailure(wrapped, identity, redact).message, /network error: getaddrinfo ENOTFOUND api\.example$/);
    assert.equal(classifyFailure(new SyntaxError('Unexpected end of JSON input'), identity, redact).retryable, true);
    assert.equal(classifyFailure(new Error('x'), identity, redact, 5000).message, 'embedding "jina" (model jina-embeddings-v3): no answer within 5 s');
    assert.equal(classifyFailure(new RangeError('a bug'), identity, redact).retryable, false);
  });
  test('HTTP statuses follow the one rule, with Retry-After read from the headers', () => {
    const e = Object.assign(new Error('429 slow down'), { status: 429, headers: new Headers({ 'retry-after': '3' }) });
    const f = classifyFailure(e, identity, redact);
    assert.deepEqual([f.status, f.retryable, f.retryAfterMs], [429, true, 3000]);
    assert.equal(classifyFailure(Object.assign(new Error('501'), { status: 501 }), identity, redact).retryable, false);
  });
});
