/** `emomo recall "<query>" [--image <file|url>]`: read flags, run the recall service, print a table or one JSON object. */
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { App } from '../../app.js';
import { parseDuration } from '../../config/duration.js';
import { ExitCode, UsageError } from '../../errors.js';
import { MAX_TOP_K, RECALL_MODES, type RecallMode } from '../../config/limits.js';
import type { RecallHit, RecallResult } from '../../pipeline/recall-service.js';
import type { CommandContext } from '../context.js';
import { positiveIntUpTo } from '../parse.js';
import type { Reporter } from '../reporter.js';
import { fileLink, formatTable, truncateToWidth } from '../table.js';

export interface RecallFlags {
  embedding?: string;
  topK: number;
  threshold?: number;
  tag?: string[];
  category?: string;
  animated?: boolean;
  static?: boolean;
  source?: string;
  mode: RecallMode;
  timeout: number;
  exact: boolean;
  explain: boolean;
  literal?: boolean;
  /** A picture to search by (file or http(s) URL). */
  image?: string;
  allDuplicates?: boolean;
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

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerRecall(program: Command, context: CommandContext): void {
  program
    .command('recall')
    .description('search the library: vector similarity, BM25 keywords, or both fused (hybrid); or by picture (--image)')
    .argument('[query]', 'what to look for, e.g. "我太难了" (may be left out with --image)')
    .addOption(new Option('--mode <mode>', 'hybrid (both, fused by reciprocal rank), vector, or keyword').choices(RECALL_MODES).default('hybrid'))
    .option('--embedding <name>', 'embedding config whose collection is searched (default: the one marked is_default)')
    .option('--top-k <n>', `results to return, 1 to ${MAX_TOP_K}`, positiveIntUpTo(MAX_TOP_K), 10)
    .option('--threshold <similarity>', 'drop vector hits below this cosine similarity (vector and hybrid modes; default: none)', similarity)
    .option('--tag <tag>', 'only memes with this tag; repeat for several (all must match)', collect)
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
    .option('--explain', 'show why each result matched: vector and keyword rank and score, matched terms, characters and expansions', false)
    .option('--literal', 'search only the words as typed: no words of the same meaning (synonyms, slang), no single-character matches, no IDF weighting')
    .option('--image <file|url>', 'search by picture ("is this meme already in the library?", "more like this"), alone or with a query; uses an embedding with input: image (--embedding, or the first one)')
    .option('--all-duplicates', 'show every copy of a meme (same picture and caption) instead of one hit for them all')
    .addHelpText(
      'after',
      `
Examples:
  emomo recall "我太难了"
  emomo recall 开心 --tag 猫猫 --static --top-k 5
  emomo recall "下班" --mode keyword --json | jq '.results[].url'
  emomo recall "打工人" --embedding jina --timeout 1s --explain
  emomo recall 栓Q --explain          # shows the slang expansions that matched (无语, 谢谢...)
  emomo recall --image ./saw-this.jpg  # is this meme already in the library? (needs an input: image embedding)
  emomo recall 熊猫头 --image https://example.com/m.gif --top-k 5

Exit codes: 0 results (possibly partial: see "partial" in --json), 2 usage or config error,
3 nothing could be searched (e.g. vector mode and the embedding provider is down).`,
    )
    .action((query: string | undefined, flags: RecallFlags) => context.run((app, reporter, signal) => runRecall(query ?? '', flags, app, reporter, signal), 'read'));
}

export async function runRecall(query: string, flags: RecallFlags, app: App, reporter: Reporter, signal?: AbortSignal): Promise<number> {
  if (!query.trim() && flags.image === undefined) throw new UsageError('the query is empty: say what to look for, e.g. emomo recall "我太难了", or give a picture with --image');
  // Read here, checked and decoded by the search (the same way as a picture sent to emomo serve).
  const image = flags.image === undefined ? undefined : await (await import('../../images/query-picture.js')).readQueryPicture(flags.image, { maxBytes: app.config.ingest.maxFileBytes, timeoutMs: flags.timeout }, signal);
  const [{ searchLibrary }, { recallJson }] = await Promise.all([import('../../library/recall-search.js'), import('../../library/recall-json.js')]);
  const { result, source, known } = await searchLibrary(
    app,
    query,
    {
      mode: flags.mode,
      topK: flags.topK,
      threshold: flags.threshold,
      tags: flags.tag ?? [],
      category: flags.category,
      animated: flags.animated ? true : flags.static ? false : undefined,
      source: flags.source,
      embedding: flags.embedding,
      timeoutMs: flags.timeout,
      exact: flags.exact,
      literal: flags.literal,
      signal,
      ...(image ? { image, imageName: `--image ${flags.image}` } : {}),
      allDuplicates: flags.allDuplicates ?? false,
    },
    true,
  );
  if (result.reason) reporter.log(result.failed ? 'error' : 'warn', result.failed ? 'nothing could be searched' : 'partial results', { reason: result.reason });
  if (result.hits.length === 0 && !result.failed && known) hintKnownValues(reporter, flags.category, source, known);
  if (reporter.flags.json) reporter.json(recallJson(result));
  else printRecall(reporter, result, flags.explain, flags.image);
  return result.failed ? ExitCode.aborted : ExitCode.ok;
}

const num = (x: number | null, digits: number) => (x === null ? '-' : x.toFixed(digits));

/** What matched, readable without knowing the fusion: "words" for a keyword hit, the vector similarity in percent. */
function relevance(h: RecallHit): string {
  const parts = [
    h.keywordRank !== null ? 'words' : '',
    h.vectorSimilarity !== null ? `${Math.round(h.vectorSimilarity * 100)}%` : '',
    h.imageSimilarity !== null ? `picture ${Math.round(h.imageSimilarity * 100)}%` : '',
  ];
  return parts.filter(Boolean).join(' + ');
}

/** A file under the working folder as a relative path; on a terminal a short name that is a link to the file. */
function location(url: string, tty: boolean): string {
  if (!path.isAbsolute(url)) return url; // an http(s) URL from object storage
  const relative = path.relative(process.cwd(), url);
  const shown = relative.startsWith('..') ? url : relative;
  return tty ? fileLink(url, path.basename(url).replace(/^(.{8}).*(\.[^.]+)$/, '$1…$2')) : shown;
}

function hintKnownValues(
  reporter: Reporter,
  category: string | undefined,
  source: string | undefined,
  known: { categories: string[]; sources: string[] },
): void {
  const list = (values: string[]) => (values.length > 12 ? `${values.slice(0, 12).join(', ')}, … (${values.length})` : values.join(', '));
  if (category !== undefined && !known.categories.includes(category)) {
    reporter.log('warn', `no meme has category "${category}"; known: ${list(known.categories) || '(none)'}`);
  }
  if (source !== undefined && !known.sources.includes(source)) {
    reporter.log('warn', `no meme comes from source "${source}"; known: ${list(known.sources) || '(none)'}`);
  }
}

/** "开心 饿 高兴←开心": the query's own terms, then its characters, then the expansions with what they stand for. */
function matchedSummary(h: RecallHit): string {
  return [...h.matchedTerms, ...h.matchedCharacters, ...h.matchedExpansions.map((e) => `${e.term}←${e.for}`)].join(' ');
}

function printRecall(reporter: Reporter, r: RecallResult, explain: boolean, image?: string): void {
  const tty = reporter.stdoutTty;
  const headers = ['#', 'match', 'category', 'tags', 'text', tty ? 'file' : 'path / url'];
  if (explain) headers.splice(2, 0, 'score', 'vector (rank)', 'bm25 (rank)', 'matched');
  const rows = r.hits.map((h) => {
    const row: Array<string | number> = [
      h.rank,
      relevance(h),
      truncateToWidth(h.category, 10) + (h.isAnimated ? ' (anim)' : ''),
      truncateToWidth(h.tags.join(','), tty ? 12 : 20),
      truncateToWidth(h.ocrText || h.description, tty ? 16 : 24) + (h.duplicates.length > 0 ? ` (+${h.duplicates.length} copies)` : ''),
      location(h.url, tty),
    ];
    if (explain) {
      row.splice(
        2,
        0,
        h.score.toFixed(r.mode === 'hybrid' ? 4 : 3),
        h.vectorRank === null ? '-' : `${num(h.vectorSimilarity, 3)} (${h.vectorRank})`,
        h.keywordRank === null ? '-' : `${num(h.keywordBm25, 2)} (${h.keywordRank})${h.exactCaption ? ' =' : ''}`,
        truncateToWidth(matchedSummary(h), 28),
      );
    }
    return row;
  });
  const how = !r.query ? `picture, ${r.vectorMethod ?? 'no vector'} search` : r.mode === 'keyword' && !r.picture ? 'keyword' : `${r.mode}, ${r.vectorMethod ?? 'no vector'} search`;
  const what = [r.query ? `"${r.query}"` : '', image !== undefined ? `picture ${image}` : ''].filter(Boolean).join(' + ');
  reporter.result(`${r.hits.length} result${r.hits.length === 1 ? '' : 's'} for ${what} (${how}, ${r.timings.total.toFixed(1)} ms)${r.partial ? ' — PARTIAL' : ''}`);
  if (explain) {
    const searched = [`terms: ${r.terms.join(' ') || '-'}`];
    if (r.characters.length > 0) searched.push(`characters: ${r.characters.join(' ')}`);
    if (r.expansions.length > 0) searched.push(`expansions: ${r.expansions.map((e) => `${e.term}←${e.for} (${e.source})`).join(', ')}`);
    reporter.result(searched.join('; '));
  }
  reporter.result(formatTable(headers, rows));
}
