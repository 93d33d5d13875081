/**
 * `npm run bench:lexical -- [--n 100000] [--dims 512] [--repeat 3]`
 *
 * Keyword and hybrid recall latency with the offline defaults, literal (the
 * query's own words: recall as it was before backoff characters, expansions
 * and IDF) and as shipped, in one run:
 *   1. the sample library (staging/sample ingested with the OCR describer and
 *      the local lexical embedder);
 *   2. n generated memes whose captions are drawn from real meme words (the
 *      sample's and the real-memes queries' captions, the slang table), with
 *      local lexical vectors.
 * Each query runs through the recall service (the CLI's path without process
 * start-up); times are the service's own totals, p50 / p95 over the query
 * set (the recall-quality queries plus the sample captions), after a warm-up
 * pass. The last line is one JSON object.
 */
import { parseArgs } from 'node:util';
import { createApp, type App } from '../src/app.js';
import { recallDeps } from '../src/library/recall-search.js';
import { recall, type RecallMode } from '../src/pipeline/recall-service.js';
import { runIngest } from '../test/helpers/run-ingest.js';
import { copySample, makeWorkspace, type Workspace } from '../test/helpers/workspace.js';
import { benchQueries, generateWordLibrary } from './meme-words.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    dims: { type: 'string', default: '512' },
    repeat: { type: 'string', default: '3' },
  },
});
const n = Number(values.n);
const dims = Number(values.dims);
const repeat = Number(values.repeat);

const queries = benchQueries;

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}
const round = (x: number) => Number(x.toFixed(2));

async function measure(app: App, library: string) {
  const deps = recallDeps(app);
  const rows: Array<Record<string, string | number>> = [];
  for (const mode of ['keyword', 'hybrid'] as RecallMode[]) {
    for (const literal of [true, false]) {
      const run = (query: string) => recall(deps, { query, mode, topK: 10, filters: { tags: [] }, timeoutMs: 3000, literal });
      for (const q of queries) await run(q); // warm-up: page cache, JIT, the thesaurus loaded once
      const totals: number[] = [];
      const stages = { terms: [] as number[], keyword: [] as number[], vector: [] as number[] };
      for (let r = 0; r < repeat; r++) {
        for (const q of queries) {
          const { timings } = await run(q);
          totals.push(timings.total);
          stages.terms.push(timings.terms ?? 0);
          stages.keyword.push(timings.keyword ?? 0);
          stages.vector.push(timings.vector ?? 0);
        }
      }
      rows.push({
        library,
        mode,
        search: literal ? 'literal (before)' : 'shipped (after)',
        queries: totals.length,
        p50_ms: round(percentile(totals, 0.5)),
        p95_ms: round(percentile(totals, 0.95)),
        'terms p50': round(percentile(stages.terms, 0.5)),
        'keyword p50': round(percentile(stages.keyword, 0.5)),
        'vector p50': round(percentile(stages.vector, 0.5)),
      });
    }
  }
  return rows;
}

const workspaces: Workspace[] = [];
const embeddings = `embeddings:\n  - name: local\n    provider: local\n    dimensions: ${dims}\n    collection: emomo-local\n`;
const results: Array<Record<string, string | number>> = [];
try {
  const sample = makeWorkspace('', embeddings);
  workspaces.push(sample);
  copySample(sample);
  const ingested = await runIngest(sample, { source: 'staging:sample' });
  process.stderr.write(`sample library: ${ingested.summary.added} memes ingested\n`);
  let app = createApp({ configPath: sample.config });
  results.push(...(await measure(app, `sample (${ingested.summary.added})`)));
  await app.close();

  const big = makeWorkspace('', embeddings);
  workspaces.push(big);
  const started = performance.now();
  generateWordLibrary(big, n, dims);
  process.stderr.write(`generated ${n} memes in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  app = createApp({ configPath: big.config });
  results.push(...(await measure(app, `generated (${n})`)));
  await app.close();
} finally {
  for (const ws of workspaces) ws.cleanup();
}
console.table(results);
const pick = (library: string, mode: string, search: string) =>
  results.find((r) => String(r.library).startsWith(library) && r.mode === mode && String(r.search).startsWith(search))?.p50_ms;
console.log(
  JSON.stringify({
    n,
    sample_keyword_p50_ms: { before: pick('sample', 'keyword', 'literal'), after: pick('sample', 'keyword', 'shipped') },
    sample_hybrid_p50_ms: { before: pick('sample', 'hybrid', 'literal'), after: pick('sample', 'hybrid', 'shipped') },
    generated_keyword_p50_ms: { before: pick('generated', 'keyword', 'literal'), after: pick('generated', 'keyword', 'shipped') },
    generated_hybrid_p50_ms: { before: pick('generated', 'hybrid', 'literal'), after: pick('generated', 'hybrid', 'shipped') },
  }),
);
