/**
 * A provider outage mid-run: generated images through the real ingest
 * pipeline against the independent rate-limited fake provider
 * (test/helpers/rate-limited-provider.ts), once without faults for a
 * baseline, then with every request answered 503 for `--outage-s` seconds
 * once a third of the items' requests have arrived. Shows how much longer the
 * run took than the baseline (at most the outage plus one probe interval: the
 * work that does not need the provider goes on meanwhile), how many requests
 * reached the provider while it was down, and how soon after it came back the
 * run went on.
 *
 *   npm run bench:outage [-- --items 600 --outage-s 20 --probe 5s --workers 16]
 *
 * Prints a markdown table (stdout) for BENCHMARKS.md.
 */
import { parseArgs } from 'node:util';
import { writeGeneratedStaging } from '../test/helpers/generated-images.js';
import { startRateLimitedProvider } from '../test/helpers/rate-limited-provider.js';
import { keyEnv, makeRemoteWorkspace } from '../test/helpers/remote-workspace.js';
import { runIngest } from '../test/helpers/run-ingest.js';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '600' },
    'outage-s': { type: 'string', default: '20' },
    probe: { type: 'string', default: '5s' },
    workers: { type: 'string', default: '16' },
    'vlm-ms': { type: 'string', default: '100' },
    'embed-ms': { type: 'string', default: '20' },
  },
});
const items = Number(values.items);
const outageMs = Number(values['outage-s']) * 1000;
const workers = Number(values.workers);
const latencyMs = { chat: Number(values['vlm-ms']), embeddings: Number(values['embed-ms']) };

async function run(outage: boolean) {
  const fake = await startRateLimitedProvider({
    p429: 0, p500: 0, seed: 99, latencyMs, ...(outage ? { outage: { afterRequests: Math.round(items / 3), ms: outageMs } } : {}),
  });
  const ws = makeRemoteWorkspace(fake, { workers, vlmConcurrency: workers, probeInterval: values.probe });
  try {
    await writeGeneratedStaging(ws.staging, 'bench', items);
    const result = await runIngest(ws, { source: 'staging:bench' }, {}, undefined, keyEnv('sk-bench-outage-key'));
    if (result.summary.added !== items || result.summary.failed !== 0) {
      throw new Error(`added ${result.summary.added}, failed ${result.summary.failed}: ${result.log.slice(-2000)}`);
    }
    const report = await fake.report();
    const end = report.outageFrom + outageMs;
    const during = report.arrivals.filter((a) => a.at >= report.outageFrom && a.at < end).length;
    const back = report.arrivals.find((a) => a.at >= end && a.status === 200);
    return { seconds: result.summary.duration_ms / 1000, during, resumedAfterMs: back ? back.at - end : NaN };
  } finally {
    ws.cleanup();
    await fake.close();
  }
}

const base = await run(false);
process.stderr.write(`baseline: ${base.seconds.toFixed(1)} s\n`);
const down = await run(true);
const extra = down.seconds - base.seconds;
process.stdout.write(
  `${items} items, ${workers} lanes, VLM latency ${latencyMs.chat} ms, embeddings ${latencyMs.embeddings} ms, probe_interval ${values.probe}\n\n` +
    '| outage | added / failed | baseline | with the outage | extra time | requests while down | first success after it ended |\n' +
    '|---:|---:|---:|---:|---:|---:|---:|\n' +
    `| ${outageMs / 1000} s | ${items} / 0 | ${base.seconds.toFixed(1)} s | ${down.seconds.toFixed(1)} s | ${extra.toFixed(1)} s | ` +
    `${down.during} | ${(down.resumedAfterMs / 1000).toFixed(2)} s |\n`,
);
