/** `emomo recall "<query>"`: read flags, run the recall service, print a table or one JSON object. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { App } from '../../app.js';
import { parseDuration } from '../../config/duration.js';
import { selectEmbedding } from '../../config/load.js';
import { ExitCode } from '../../errors.js';
import { recall, RECALL_MODES, type RecallMode, type RecallResult } from '../../pipeline/recall-service.js';
import type { CommandContext } from '../context.js';
import { positiveInt } from '../parse.js';
import type { Reporter } from '../reporter.js';
import { formatTable, truncateToWidth } from '../table.js';

export interface RecallFlags {
  embedding?: string;
  topK: number;
  threshold?: number;
  tag: string[];
  category?: string;
  animated?: boolean;
  static?: boolean;
  source?: string;
  mode: RecallMode;
  timeout: number;
  exact: boolean;
  explain: boolean;
}

function similarity(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < -1 || n > 1) throw new InvalidArgumentError(`expected a cosine similarity between -1 and 1, got "${value}"`);
  return n;
}

function duration(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerRecall(program: Command, context: CommandContext): void {
  program
    .command('recall')
    .description('search the library: vector similarity, BM25 keywords, or both fused (hybrid)')
    .argument('<query>', 'what to look for, e.g. "我太难了"')
    .addOption(new Option('--mode <mode>', 'hybrid (both, fused by reciprocal rank), vector, or keyword').choices(RECALL_MODES).default('hybrid'))
    .option('--embedding <name>', 'embedding config whose collection is searched (default: the one marked is_default)')
    .option('--top-k <n>', 'results to return', positiveInt, 10)
    .option('--threshold <similarity>', 'drop vector hits below this cosine similarity (vector and hybrid modes; default: none)', similarity)
    .option('--tag <tag>', 'only memes with this tag; repeat for several (all must match)', collect, [])
    .option('--category <category>', 'only memes of this category')
    .addOption(new Option('--animated', 'only animated memes (GIF / animated WebP)').conflicts('static'))
    .addOption(new Option('--static', 'only still images').conflicts('animated'))
    .option('--source <source>', 'only memes seen in this source, e.g. staging:fabiaoqing')
    .addOption(
      new Option('--timeout <duration>', 'time allowed for the query embedding, e.g. 1s, 500ms; past it, keyword results come back marked partial')
        .argParser(duration)
        .default(3000, '3s'),
    )
    .option('--exact', 'exact float32 KNN instead of the quantised index (slower on large collections; for checking)', false)
    .option('--explain', 'show why each result matched: vector and keyword rank and score, matched terms', false)
    .addHelpText(
      'after',
      `
Examples:
  emomo recall "我太难了"
  emomo recall 开心 --tag 猫猫 --static --top-k 5
  emomo recall "下班" --mode keyword --json | jq '.results[].url'
  emomo recall "打工人" --embedding jina --timeout 1s --explain

Exit codes: 0 results (possibly partial: see "partial" in --json), 2 usage or config error,
3 nothing could be searched (e.g. vector mode and the embedding provider is down).`,
    )
    .action((query: string, flags: RecallFlags) => context.run((app, reporter, signal) => runRecall(query, flags, app, reporter, signal)));
}

export async function runRecall(query: string, flags: RecallFlags, app: App, reporter: Reporter, signal?: AbortSignal): Promise<number> {
  // An unknown --embedding is a usage error before any search; the embedder itself is built
  // only when needed, so a missing key or a broken provider still leaves keyword results.
  const config = selectEmbedding(app.config, flags.embedding);
  const result = await recall(
    {
      index: app.store,
      collection: config.collection,
      embedder: () => app.embedding(flags.embedding).embedder,
      storage: app.storage,
      redact: app.redact,
      signal,
    },
    {
      query,
      mode: flags.mode,
      topK: flags.topK,
      threshold: flags.threshold,
      filters: {
        tags: flags.tag,
        category: flags.category,
        animated: flags.animated ? true : flags.static ? false : undefined,
        source: flags.source,
      },
      timeoutMs: flags.timeout,
      exact: flags.exact,
    },
  );
  if (result.reason) reporter.log(result.failed ? 'error' : 'warn', result.failed ? 'nothing could be searched' : 'partial results', { reason: result.reason });
  if (reporter.flags.json) reporter.json(recallJson(result));
  else printRecall(reporter, result, flags.explain);
  return result.failed ? ExitCode.aborted : ExitCode.ok;
}

/** The --json shape (validated by a zod schema in the test suite; documented in docs/recall.md). */
export function recallJson(r: RecallResult) {
  return {
    query: r.query,
    mode: r.mode,
    collection: r.collection,
    partial: r.partial,
    reason: r.reason ?? null,
    failed: r.failed,
    terms: r.terms,
    vector_method: r.vectorMethod ?? null,
    candidates: r.candidates ?? null,
    errors: r.errors,
    timings_ms: r.timings,
    results: r.hits.map((h) => ({
      rank: h.rank,
      meme_id: h.memeId,
      md5: h.md5,
      storage_key: h.storageKey,
      url: h.url,
      score: h.score,
      scores: { vector: h.vectorSimilarity, keyword: h.keywordBm25, fused: h.fused },
      explain: { vector_rank: h.vectorRank, keyword_rank: h.keywordRank, matched_terms: h.matchedTerms, exact_caption: h.exactCaption },
      description: h.description,
      ocr_text: h.ocrText,
      tags: h.tags,
      category: h.category,
      is_animated: h.isAnimated,
    })),
  };
}

const num = (x: number | null, digits: number) => (x === null ? '-' : x.toFixed(digits));

function printRecall(reporter: Reporter, r: RecallResult, explain: boolean): void {
  const headers = ['#', 'score', 'category', 'tags', 'text', 'path / url'];
  if (explain) headers.splice(2, 0, 'vector (rank)', 'bm25 (rank)', 'matched');
  const rows = r.hits.map((h) => {
    const row: Array<string | number> = [
      h.rank,
      h.score.toFixed(r.mode === 'hybrid' ? 4 : 3),
      truncateToWidth(h.category, 10) + (h.isAnimated ? ' (gif)' : ''),
      truncateToWidth(h.tags.join(','), 20),
      truncateToWidth(h.ocrText || h.description, 24),
      h.url,
    ];
    if (explain) {
      row.splice(
        2,
        0,
        h.vectorRank === null ? '-' : `${num(h.vectorSimilarity, 3)} (${h.vectorRank})`,
        h.keywordRank === null ? '-' : `${num(h.keywordBm25, 2)} (${h.keywordRank})${h.exactCaption ? ' =' : ''}`,
        truncateToWidth(h.matchedTerms.join(' '), 16),
      );
    }
    return row;
  });
  const how = r.mode === 'keyword' ? 'keyword' : `${r.mode}, ${r.vectorMethod ?? 'no vector'} search`;
  reporter.result(`${r.hits.length} result${r.hits.length === 1 ? '' : 's'} for "${r.query}" (${how}, ${r.timings.total.toFixed(1)} ms)${r.partial ? ' — PARTIAL' : ''}`);
  reporter.result(formatTable(headers, rows));
}
