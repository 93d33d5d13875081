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
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createApp, type App } from '../src/app.js';
import { recallDeps } from '../src/library/recall-search.js';
import { recall, type RecallMode } from '../src/pipeline/recall-service.js';
import { LocalEmbedder } from '../src/providers/embedding/local-embedder.js';
import { generateLibrary } from '../test/helpers/library-generator.js';
import { runIngest } from '../test/helpers/run-ingest.js';
import { seededRandom } from '../test/helpers/seeded-random.js';
import { copySample, makeWorkspace, projectRoot, sampleDir, type Workspace } from '../test/helpers/workspace.js';

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

const captions = fs
  .readFileSync(path.join(sampleDir, 'manifest.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => (JSON.parse(l) as { caption: string }).caption);
const fixture = JSON.parse(fs.readFileSync(path.join(projectRoot, 'test/fixtures/recall-paraphrases.json'), 'utf8')) as {
  queries: Array<{ query: string; kind: string }>;
};
const queries = [...new Set([...fixture.queries.map((q) => q.query), ...captions])];

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

/** Captions from real meme words: one to three of them (common words more often), sometimes a particle. */
function captionMaker(): (i: number) => string {
  const table = JSON.parse(fs.readFileSync(path.join(projectRoot, 'configs/slang.json'), 'utf8')) as Record<string, Record<string, string[]>>;
  const words = [
    ...new Set([
      ...captions,
      ...fixture.queries.filter((q) => q.kind === 'caption' || q.kind === 'two-char').map((q) => q.query),
      ...Object.entries({ ...table.slang, ...table.synonyms }).flat(2),
    ]),
  ];
  const random = seededRandom(0x5eed);
  const particles = ['了', '啊', '吧', '呢', '吗', '哦', '我', '你'];
  const pick = () => words[Math.floor(words.length * random() ** 2)]!; // skewed: a few words are everywhere
  return () => {
    const count = 1 + Math.floor(random() * 3);
    let caption = Array.from({ length: count }, pick).join('');
    if (random() < 0.4) caption += particles[Math.floor(random() * particles.length)];
    return caption;
  };
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
  const caption = captionMaker();
  const embedder = new LocalEmbedder({ dimensions: dims });
  const started = performance.now();
  generateLibrary({
    db: big.db,
    objects: big.objects,
    memes: n,
    dims,
    collection: 'emomo-local',
    text: (_, category) => {
      const ocr = caption(0);
      return { ocr, description: `${category}表情包，配文「${ocr}」，标签：${category}`, tags: [category] };
    },
    embed: { model: embedder.model, vector: (text) => embedder.embedText(text) },
  });
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
