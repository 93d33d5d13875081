/**
 * Words of the same meaning, for offline query expansion. Four sources, in
 * order of precedence when they relate the same two words:
 *   config     the user's `recall.synonyms` (configs/config.yaml);
 *   slang      configs/slang.json `slang` — net slang → its plain meaning;
 *   curated    configs/slang.json `synonyms` — everyday synonyms that the
 *              packaged thesaurus lacks;
 *   thesaurus  the synonym table of the `segment` npm package
 *              (dicts/synonym.txt, ~4,300 pairs of mostly formal vocabulary).
 * Every relation works both ways and one step only: 笑死 finds 哈哈哈 and
 * 哈哈哈 finds 笑死, but two entries never chain.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { boundedText } from './fold.js';

export type ExpansionSource = 'config' | 'slang' | 'curated' | 'thesaurus';

/** A word the query did not say, searched because it means what a query term means. */
export interface Expansion {
  /** The word searched. */
  term: string;
  /** The term of the query (as found, folded) it stands for. */
  for: string;
  source: ExpansionSource;
}

/** Expansions searched per query at most: a long query must not fan out into hundreds of phrases. */
export const MAX_EXPANSIONS = 16;
/** Longest query text scanned for table terms. */
const MAX_QUERY_CHARS = 200;

const LATIN_OR_DIGIT = /[\p{L}\p{N}]/u;
const HAN = /\p{Script=Han}/u;
/** A Latin/digit key ("nb", "666") counts only as a whole word: not inside "nba" or "6666". */
const wordChar = (c: string | undefined) => c !== undefined && LATIN_OR_DIGIT.test(c) && !HAN.test(c);
/** Table entries are short words: fold them as queries are folded, only cheaper. */
const fold = (word: string) => (/^[\u4e00-\u9fff]+$/.test(word) ? word : boundedText(word, 40).trim());

export class Thesaurus {
  /** term → related term → the source that related them first. */
  private readonly entries = new Map<string, Map<string, ExpansionSource>>();
  /** Length of the longest term, in UTF-16 units (never less than its length in characters). */
  private longest = 1;

  /** Relations in order of precedence: the first source to relate two words names the relation. */
  constructor(groups: ReadonlyArray<{ source: ExpansionSource; entries: Iterable<readonly [string, readonly string[]]> }>) {
    for (const { source, entries } of groups) {
      for (const [key, words] of entries) {
        const a = fold(key);
        for (const word of words) this.relate(a, fold(word), source);
      }
    }
  }

  private relate(a: string, b: string, source: ExpansionSource): void {
    if (!a || !b || a === b) return;
    this.link(a, b, source);
    this.link(b, a, source);
  }

  private link(from: string, to: string, source: ExpansionSource): void {
    let related = this.entries.get(from);
    if (!related) {
      related = new Map();
      this.entries.set(from, related);
      if (from.length > this.longest) this.longest = from.length;
    }
    if (!related.has(to)) related.set(to, source);
  }

  /** Words related to one term (folded), in table order. */
  lookup(term: string): Array<{ term: string; source: ExpansionSource }> {
    return [...(this.entries.get(term) ?? [])].map(([t, source]) => ({ term: t, source }));
  }

  /** How many terms have an entry. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The table terms a query holds, in the order they occur; a term inside a
   * longer one found at the same place is left out (笑死我了, not also 笑死).
   */
  find(query: string): string[] {
    const chars = Array.from(boundedText(query, MAX_QUERY_CHARS));
    const found: Array<{ start: number; end: number; term: string }> = [];
    for (let start = 0; start < chars.length; start++) {
      for (let len = Math.min(this.longest, chars.length - start); len >= 1; len--) {
        const term = chars.slice(start, start + len).join('');
        if (!this.entries.has(term)) continue;
        const end = start + len;
        if (wordChar(chars[start]) && wordChar(chars[start - 1])) continue;
        if (wordChar(chars[end - 1]) && wordChar(chars[end])) continue;
        found.push({ start, end, term });
      }
    }
    const inside = (a: (typeof found)[number], b: (typeof found)[number]) =>
      a !== b && b.start <= a.start && a.end <= b.end && b.end - b.start > a.end - a.start;
    return [...new Set(found.filter((a) => !found.some((b) => inside(a, b))).map((f) => f.term))];
  }

  /** What a query is expanded with: related words of each table term it holds, none it already says. */
  expand(query: string): Expansion[] {
    const folded = boundedText(query, MAX_QUERY_CHARS);
    const expansions: Expansion[] = [];
    const seen = new Set<string>();
    for (const key of this.find(query)) {
      for (const { term, source } of this.lookup(key)) {
        if (seen.has(term) || folded.includes(term)) continue;
        seen.add(term);
        expansions.push({ term, for: key, source });
        if (expansions.length === MAX_EXPANSIONS) return expansions;
      }
    }
    return expansions;
  }
}

/** configs/slang.json, as shipped next to the code (src/ and dist/ are both two levels down). */
export const SLANG_TABLE = new URL('../../configs/slang.json', import.meta.url);

export interface SlangTable {
  version: number;
  slang: Array<[string, string[]]>;
  synonyms: Array<[string, string[]]>;
}

/** Reads a slang table file: `version`, and `slang` / `synonyms` maps of term → list of words. */
export function readSlangTable(file: URL | string = SLANG_TABLE): SlangTable {
  // JSON, not YAML: it parses in well under a millisecond, and recall reads it on every run.
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const map = (name: string): Array<[string, string[]]> => {
    const value = raw[name] ?? {};
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${String(file)}: "${name}" must be a mapping`);
    return Object.entries(value).map(([key, words]) => {
      if (!Array.isArray(words) || !words.every((w) => typeof w === 'string' || typeof w === 'number')) {
        throw new Error(`${String(file)}: ${name}.${key} must be a list of words`);
      }
      return [key, words.map(String)];
    });
  };
  return { version: Number(raw.version), slang: map('slang'), synonyms: map('synonyms') };
}

/** The pairs of the `segment` package's thesaurus ("揭穿,戳穿" per line). */
export function readPackagedSynonyms(): Array<[string, string[]]> {
  const file = createRequire(import.meta.url).resolve('segment/dicts/synonym.txt');
  const pairs: Array<[string, string[]]> = [];
  for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const [a, ...rest] = line.split(',').map((w) => w.trim());
    // Its few one-character pairs (死 / 逝世, 得 / 患上) misfire inside any longer word.
    const words = rest.filter((w) => w.length > 1);
    if (a && a.length > 1 && words.length > 0) pairs.push([a, words]);
  }
  return pairs;
}

/** The thesaurus recall uses: the user's entries, emomo's slang table, the packaged synonyms. */
export function loadThesaurus(userSynonyms: Record<string, readonly string[]> = {}): Thesaurus {
  const table = readSlangTable();
  return new Thesaurus([
    { source: 'config', entries: Object.entries(userSynonyms) },
    { source: 'slang', entries: table.slang },
    { source: 'curated', entries: table.synonyms },
    { source: 'thesaurus', entries: readPackagedSynonyms() },
  ]);
}
