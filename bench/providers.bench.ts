/**
 * Remote providers under ingest: N generated images through the real ingest
 * pipeline (in-process, temp workspace), the real `openai` / fetch clients and
 * resilience layer, against the fake OpenAI-compatible server with a fixed
 * latency per call (VLM 2,000 ms, embeddings 500 ms by default).
 *
 *   npm run bench:providers [-- --items 1000 --vlm-ms 2000 --embed-ms 500 --runs 8,32,64,40/32]
 *
 * A run "W" uses W workers and vlm.concurrency W; "W/C" uses W workers and
 * vlm.concurrency C. Prints a markdown table (stdout) for BENCHMARKS.md.
 */
import { parseArgs } from 'node:util';
import { startFakeOpenAI } from '../test/helpers/fake-openai-server.js';
import { writeGeneratedStaging } from '../test/helpers/generated-images.js';
import { keyEnv, makeRemoteWorkspace } from '../test/helpers/remote-workspace.js';
import { runIngest } from '../test/helpers/run-ingest.js';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '1000' },
    'vlm-ms': { type: 'string', default: '2000' },
    'embed-ms': { type: 'string', default: '500' },
    runs: { type: 'string', default: '8,32,64,40/32' },
  },
});
const items = Number(values.items);
const vlmMs = Number(values['vlm-ms']);
const embedMs = Number(values['embed-ms']);
const runs = values.runs.split(',').map((r) => {
  const [w, c] = r.split('/').map(Number);
  return { workers: w!, concurrency: c ?? w! };
});

const fake = await startFakeOpenAI({ latencyMs: { chat: vlmMs, embeddings: embedMs } });
const rows: string[] = [];
try {
  for (const { workers, concurrency } of runs) {
    const ws = makeRemoteWorkspace(fake, { workers, vlmConcurrency: concurrency, batchSize: 32 });
    try {
      await writeGeneratedStaging(ws.staging, 'bench', items);
      const start = fake.requests.length;
      const run = await runIngest(ws, { source: 'staging:bench' }, {}, undefined, keyEnv('sk-bench-key'));
      if (run.summary.added !== items) throw new Error(`only ${run.summary.added} of ${items} added: ${run.log}`);
      const mine = fake.requests.slice(start);
      const embedRequests = mine.filter((r) => r.endpoint === 'embeddings').length;
      const seconds = run.summary.duration_ms / 1000;
      const rate = items / seconds;
      const ideal = Math.min(workers, concurrency) / (vlmMs / 1000); // VLM slots always busy
      rows.push(
        `| ${workers} | ${concurrency} | ${seconds.toFixed(1)} s | ${rate.toFixed(2)} | ${ideal.toFixed(1)} | ${((100 * rate) / ideal).toFixed(0)} % | ` +
          `${embedRequests} | ${(embedRequests / items).toFixed(3)} | ${(items / embedRequests).toFixed(1)} |`,
      );
      process.stderr.write(`${rows.at(-1)}\n`);
    } finally {
      ws.cleanup();
    }
  }
} finally {
  await fake.close();
}

process.stdout.write(
  `${items} items, VLM latency ${vlmMs} ms, embedding latency ${embedMs} ms, batch_size 32, no rpm limit\n\n` +
    '| workers | vlm.concurrency | wall time | items/s | ideal items/s | of ideal | embedding requests | requests / item | texts / request |\n' +
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n' +
    rows.join('\n') +
    '\n',
);
