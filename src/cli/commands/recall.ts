/** `emomo recall "<query>" [--image <file|url>]`: read flags, run the recall service, print a table or one JSON object. */
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { App } from '../../app.js';
import { parseDuration } from '../../config/duration.js';
import { ExitCode, UsageError } from '../../errors.js';
import { recall, RECALL_MODES, type RecallDeps, type RecallHit, type RecallMode, type RecallResult } from '../../pipeline/recall-service.js';
import { sourceName } from '../../sources/open-source.js';
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

/** Hybrid search fetches 4× top-k per side; the vector index answers at most 4096 (sqlite-vec's k limit). */
const MAX_TOP_K = 1000;

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

/** What the recall service needs, from the app (the CLI, the recall-quality test and the benchmark search alike). */
export function recallDeps(app: App, embedding?: string, signal?: AbortSignal): RecallDeps {
  // An unknown --embedding is a usage error before any search; the embedder itself is built
  // only when needed, so a missing key or a broken provider still leaves keyword results.
  const config = app.embeddingConfig(embedding);
  return {
    index: app.store,
    collection: config.collection,
    embedder: () => app.embedding(embedding).embedder,
    thesaurus: () => app.thesaurus,
    storage: app.storage,
    redact: app.redact,
    signal,
  };
}

/** The embedding searched by picture: the one named (it must embed pictures), else the first that does. */
function pictureEmbedding(app: App, name?: string): string {
  if (name !== undefined) {
    if (app.embeddingConfig(name).input !== 'image') throw new UsageError(`--image needs an embedding with input: image; "${name}" embeds text`);
    return name;
  }
  const found = app.config.embeddings.find((e) => e.input === 'image');
  if (!found) {
    throw new UsageError(`--image needs an embedding with input: image in ${app.config.file} (e.g. provider: local, input: image, dimensions: 192); see docs/recall.md`);
  }
  return found.name;
}

export async function runRecall(query: string, flags: RecallFlags, app: App, reporter: Reporter, signal?: AbortSignal): Promise<number> {
  if (!query.trim() && flags.image === undefined) throw new UsageError('the query is empty: say what to look for, e.g. emomo recall "我太难了", or give a picture with --image');
  const embedding = flags.image === undefined ? flags.embedding : pictureEmbedding(app, flags.embedding);
  const deps = recallDeps(app, embedding, signal);
  let picture: Buffer | undefined;
  if (flags.image !== undefined) {
    // Loaded here: decoding needs sharp, which a text recall never loads.
    const { loadQueryPicture } = await import('../../images/query-picture.js');
    const { ingest, vlm } = app.config;
    picture = await loadQueryPicture(flags.image, { maxBytes: ingest.maxFileBytes, maxPixels: ingest.maxPixels, maxSide: vlm.maxSide, timeoutMs: flags.timeout }, signal);
  }
  // Filter values as recorded, for `--source` spelled another way and for a hint when nothing matches.
  const known = flags.category !== undefined || flags.source !== undefined ? await app.store.filterValues() : undefined;
  const source = flags.source === undefined ? undefined : sourceName(flags.source, known?.sources);
  const result = await recall(
    deps,
    {
      query,
      mode: flags.mode,
      topK: flags.topK,
      threshold: flags.threshold,
      filters: {
        tags: flags.tag ?? [],
        category: flags.category,
        animated: flags.animated ? true : flags.static ? false : undefined,
        source,
      },
      timeoutMs: flags.timeout,
      exact: flags.exact,
      literal: flags.literal,
      ...(picture ? { picture } : {}),
      allDuplicates: flags.allDuplicates ?? false,
    },
  );
  if (result.reason) reporter.log(result.failed ? 'error' : 'warn', result.failed ? 'nothing could be searched' : 'partial results', { reason: result.reason });
  if (result.hits.length === 0 && !result.failed && known) hintKnownValues(reporter, flags.category, source, known);
  if (reporter.flags.json) reporter.json(recallJson(result, flags.image));
  else printRecall(reporter, result, flags.explain, flags.image);
  return result.failed ? ExitCode.aborted : ExitCode.ok;
}

/** The --json shape (validated by a zod schema in the test suite; documented in docs/recall.md). */
export function recallJson(r: RecallResult, image?: string) {
  return {
    query: r.query,
    image: image ?? null,
    collapsed: r.collapsed,
    mode: r.mode,
    collection: r.collection,
    partial: r.partial,
    reason: r.reason ?? null,
    failed: r.failed,
    terms: r.terms,
    characters: r.characters,
    expansions: r.expansions.map((e) => ({ term: e.term, for: e.for, source: e.source, weight: e.weight })),
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
      scores: { vector: h.vectorSimilarity, keyword: h.keywordBm25, fused: h.fused, image: h.imageSimilarity },
      explain: {
        vector_rank: h.vectorRank,
        image_rank: h.imageRank,
        keyword_rank: h.keywordRank,
        matched_terms: h.matchedTerms,
        matched_characters: h.matchedCharacters,
        matched_expansions: h.matchedExpansions,
        exact_caption: h.exactCaption,
        keyword_parts: h.keywordParts,
        contributions: h.contributions,
      },
      description: h.description,
      ocr_text: h.ocrText,
      tags: h.tags,
      category: h.category,
      is_animated: h.isAnimated,
      duplicates: h.duplicates,
    })),
  };
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
