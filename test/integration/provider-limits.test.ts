/**
 * Ingest against a provider that rate-limits and goes down, measured at the
 * provider: an independent fake (test/helpers/rate-limited-provider.ts: its
 * own random generator, seed and fault timing) that records every arrival
 * and every Retry-After window it announced.
 *
 * The first test is the acceptance run at full size and takes about four
 * minutes whatever the machine: every fresh 429 (one request in ten) stops the
 * provider for a whole second, so about nine describe calls fit in a second.
 *
 * "No request reaches the provider more than 150 ms into a Retry-After" holds
 * on an idle machine; on a loaded one a request the client handed to fetch
 * before the 429 reached it can arrive later than that. So the test proves
 * both halves: the client never SENDS to an endpoint between reading its 429
 * and the end of that window (client side, via test/helpers/fetch-recorder.ts),
 * and every arrival more than 150 ms into a window was one already on its way
 * (provider side); how many there were is reported.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { recordFetch } from '../helpers/fetch-recorder.js';
import { writeGeneratedStaging } from '../helpers/generated-images.js';
import { startRateLimitedProvider, violations, type RateLimitedProvider } from '../helpers/rate-limited-provider.js';
import { keyEnv, makeRemoteWorkspace, tableCounts } from '../helpers/remote-workspace.js';
import { runIngest } from '../helpers/run-ingest.js';
import type { Workspace } from '../helpers/workspace.js';

const KEY = 'sk-emomo-LIMITED-4b1d9e';

/** `time=… level=warn msg="…"` lines of the run log whose message matches. */
function logLines(log: string, pattern: RegExp): Array<{ at: number; msg: string }> {
  return log
    .split('\n')
    .map((line) => /^time=(\S+) level=\w+ msg=("(?:[^"\\]|\\.)*")/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ at: Date.parse(m[1]!), msg: JSON.parse(m[2]!) as string }))
    .filter((l) => pattern.test(l.msg));
}

describe('provider limits, measured at the provider', () => {
  const cleanups: Array<() => unknown> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  async function setUp(items: number, fake: RateLimitedProvider, o: Parameters<typeof makeRemoteWorkspace>[1]): Promise<Workspace> {
    cleanups.push(() => fake.close());
    const ws = makeRemoteWorkspace(fake, o);
    cleanups.push(() => ws.cleanup());
    await writeGeneratedStaging(ws.staging, 'limited', items);
    return ws;
  }

  test('ACCEPTANCE (slow, ~4 min): 2,000 items, 16 lanes, 10 % 429 (Retry-After: 1) + 5 % 500: all added, none failed, no request inside a Retry-After', async (t) => {
    const items = 2000;
    const fake = await startRateLimitedProvider({ p429: 0.1, p500: 0.05, seed: 2024, latencyMs: { chat: 8, embeddings: 4 } });
    const ws = await setUp(items, fake, { workers: 16, vlmConcurrency: 16 });
    const client = recordFetch();
    const run = await runIngest(ws, { source: 'staging:limited' }, {}, undefined, keyEnv(KEY)).finally(() => client.restore());
    assert.equal(run.code, 0, run.log.slice(-2000));
    assert.deepEqual([run.summary.added, run.summary.failed], [items, 0]);
    assert.deepEqual(tableCounts(ws), { memes: items, vectors: items, descriptions: items, jobs: 0 });

    const report = await fake.report();
    const limited = report.arrivals.filter((a) => a.status === 429).length;
    assert.ok(report.windows.length >= 100, `only ${report.windows.length} windows announced`);
    // Client side: nothing sent to an endpoint after its 429 was read and before that window closed.
    const sentInside: string[] = [];
    for (const w of report.windows) {
      const answered = client.requests.get(w.seq!);
      if (answered?.readAt === undefined) continue;
      for (const r of client.requests.values()) {
        if (r.url === answered.url && r.sentAt > answered.readAt && r.sentAt < w.until) {
          sentInside.push(`#${r.seq} sent ${(r.sentAt - answered.readAt).toFixed(1)} ms after the 429 of #${w.seq} was read`);
        }
      }
    }
    assert.deepEqual(sentInside, []);
    // Provider side: anything that arrived more than 150 ms into a window was on its way before the client knew.
    const late = violations(report, 150);
    const knew = late.filter((v) => {
      const sent = client.requests.get(v.arrival.seq!);
      const learned = client.requests.get(v.window.seq!)?.readAt;
      return !sent || learned === undefined || sent.sentAt > learned;
    });
    assert.deepEqual(knew.map((v) => `${v.arrival.family} #${v.arrival.seq} +${(v.arrival.at - v.window.from).toFixed(0)} ms`), []);
    // Each pause is announced once: a provider's next announcement comes only after its pause is over.
    const pauses = logLines(run.log, /pausing every request/);
    for (const label of ['vlm', 'embedding']) {
      const mine = pauses.filter((p) => p.msg.startsWith(label));
      assert.ok(mine.every((p, i) => i === 0 || p.at - mine[i - 1]!.at >= 990), `${label}: two announcements inside one pause`);
    }
    assert.ok(pauses.length < limited, `${pauses.length} announcements for ${limited} 429s`);
    t.diagnostic(
      `${items} items in ${(run.summary.duration_ms / 1000).toFixed(1)} s; ${report.arrivals.length} requests, ${limited} answered 429, ` +
        `${report.windows.length} windows, ${pauses.length} pauses announced; none sent inside a window; ` +
        `${late.length} arrived more than 150 ms into one, all sent before the 429 reached the client`,
    );
  });

  test('a 3 s outage (503 to everything) mid-run: the run pauses, probes, resumes, and adds every item', async (t) => {
    const items = 300;
    const outageMs = 3000;
    const fake = await startRateLimitedProvider({
      p429: 0, p500: 0, seed: 7, latencyMs: { chat: 20, embeddings: 10 }, outage: { afterRequests: 100, ms: outageMs },
    });
    const ws = await setUp(items, fake, { workers: 16, vlmConcurrency: 16, probeInterval: '300ms' });
    const run = await runIngest(ws, { source: 'staging:limited' }, {}, undefined, keyEnv(KEY));
    const report = await fake.report();
    const outageAt = report.outageFrom;
    assert.ok(outageAt > 0, 'the outage began mid-run');
    assert.equal(run.code, 0, run.log.slice(-2000));
    assert.deepEqual([run.summary.added, run.summary.failed], [items, 0]);
    assert.equal(tableCounts(ws).jobs, 0);

    const during = report.arrivals.filter((a) => a.at >= outageAt && a.at < outageAt + outageMs);
    const probes = Math.ceil(outageMs / 300) * 2; // two gates (chat, embeddings) probing
    assert.ok(during.length <= 16 + 4 + probes + 10, `${during.length} requests reached the provider during the outage`);
    const back = report.arrivals.find((a) => a.at >= outageAt + outageMs && a.status === 200);
    assert.ok(back && back.at - (outageAt + outageMs) < 1000, 'a probe found the provider back within a probe interval or so');
    assert.ok(run.summary.duration_ms < outageMs + 15_000, `took ${run.summary.duration_ms} ms`);
    assert.equal(logLines(run.log, /in a row; pausing it/).length >= 1, true);
    assert.equal(logLines(run.log, /answers again after/).length >= 1, true);
    t.diagnostic(`${items} items in ${(run.summary.duration_ms / 1000).toFixed(1)} s with a ${outageMs / 1000} s outage; ${during.length} requests during it`);
  });
});
