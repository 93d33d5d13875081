/**
 * A crawler staging folder: `<root>/<id>/manifest.jsonl` (one JSON object a
 * line) plus `<root>/<id>/images/`. The manifest is streamed line by line and
 * treated as untrusted input: every line becomes an item or a problem, and a
 * filename can never make us read outside images/.
 */
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { UsageError, errorMessage, type Stage } from '../errors.js';
import type { Source, SourceEntry, SourceItem } from '../ports.js';
import { DEFAULT_CATEGORY, dedupe } from './naming.js';
import { isInside } from './walk.js';

const MANIFEST = 'manifest.jsonl';

/** Why `id` cannot name a staging folder, or undefined when it can. */
export function stagingIdProblem(id: string): string | undefined {
  if (id === '') return 'the staging id is empty';
  if (/[/\\\0]/.test(id) || id.includes('..') || id.startsWith('.')) {
    return `staging id "${id}" must be a plain folder name (no slash, no "..", not hidden)`;
  }
  return undefined;
}

interface Layout {
  manifest: string;
  /** Real path of images/, or undefined when there is no images folder yet. */
  imagesReal: string | undefined;
  /** What every file must stay inside when read: images/ under the real staging folder. */
  imagesRoot: string;
}

export class StagingSource implements Source {
  readonly type: string;
  private readonly root: string;

  constructor(
    stagingRoot: string,
    private readonly id: string,
  ) {
    const problem = stagingIdProblem(id);
    if (problem) throw new UsageError(problem);
    this.root = path.resolve(stagingRoot);
    this.type = `staging:${id}`;
  }

  async check(): Promise<void> {
    await this.layout();
  }

  /** Non-blank manifest lines, counted by streaming bytes (no JSON parsing): the progress bar's total. */
  async count(): Promise<number> {
    const { manifest } = await this.layout();
    let lines = 0;
    let lineHasText = false;
    for await (const chunk of createReadStream(manifest) as AsyncIterable<Buffer>) {
      for (const byte of chunk) {
        if (byte === 0x0a) {
          if (lineHasText) lines++;
          lineHasText = false;
        } else if (byte !== 0x0d && byte !== 0x20 && byte !== 0x09) lineHasText = true;
      }
    }
    return lines + (lineHasText ? 1 : 0);
  }

  async *entries(signal?: AbortSignal): AsyncGenerator<SourceEntry> {
    const layout = await this.layout();
    const input = createReadStream(layout.manifest, { encoding: 'utf8' });
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    // The only state that grows with the manifest: one entry per id, for duplicate detection.
    const firstLine = new Map<string, number>();
    let lineNo = 0;
    try {
      for await (const raw of lines) {
        lineNo++;
        if (signal?.aborted) return;
        const line = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw;
        if (line.trim() === '') continue;
        yield await this.entryFor(line, lineNo, firstLine, layout);
      }
    } finally {
      lines.close();
      input.destroy();
    }
  }

  /** Checks the folder before the first line is read; a wrong id is a usage error, not a failed run. */
  private async layout(): Promise<Layout> {
    const dir = path.join(this.root, this.id);
    const manifest = path.join(dir, MANIFEST);
    const realDir = await fs.realpath(dir).catch(() => undefined);
    const manifestReal = await fs.realpath(manifest).catch(() => undefined);
    const manifestStat = manifestReal ? await fs.stat(manifestReal) : undefined;
    if (!realDir || !manifestReal || !manifestStat?.isFile()) {
      throw new UsageError(`no staging source "${this.id}": ${manifest} not found. ${await this.available()}`);
    }
    if (!isInside(realDir, manifestReal)) throw new UsageError(`${manifest} leads outside the staging folder`);
    const imagesDir = path.join(dir, 'images');
    const imagesReal = await fs.realpath(imagesDir).catch(() => undefined);
    if (imagesReal && !isInside(realDir, imagesReal)) {
      throw new UsageError(`${imagesDir} leads outside the staging folder`);
    }
    return { manifest, imagesReal, imagesRoot: imagesReal ?? path.join(realDir, 'images') };
  }

  private async available(): Promise<string> {
    const names = await fs.readdir(this.root, { withFileTypes: true }).catch(() => undefined);
    if (!names) return `The staging folder ${this.root} does not exist: run "emomo crawl" first, or run emomo from the folder that holds staging/ (or set staging.path in the config).`;
    const ids: string[] = [];
    for (const d of names) {
      if (!d.isDirectory() || d.name.startsWith('.')) continue;
      const stat = await fs.stat(path.join(this.root, d.name, MANIFEST)).catch(() => undefined);
      if (stat?.isFile()) ids.push(`staging:${d.name}`);
    }
    return ids.length ? `Available: ${ids.sort().join(', ')}.` : `No staging sources under ${this.root} yet.`;
  }

  private async entryFor(line: string, n: number, firstLine: Map<string, number>, layout: Layout): Promise<SourceEntry> {
    const fail = (sourceId: string, stage: Stage, reason: string, permanent = true, item?: SourceItem): SourceEntry => ({
      kind: 'problem',
      problem: { sourceType: this.type, sourceId, stage, reason: `line ${n}: ${reason}`, permanent, ...(item ? { item } : {}) },
    });
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (err) {
      return fail(`line ${n}`, 'source', `malformed JSON (${errorMessage(err)})`);
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      return fail(`line ${n}`, 'source', 'not a JSON object');
    }
    const r = record as Record<string, unknown>;
    const id = r['id'];
    if (typeof id !== 'string' || id.trim() === '') return fail(`line ${n}`, 'source', 'missing or invalid "id"');
    // Reported under the line, not the id: the id belongs to the first line, which may well succeed.
    const first = firstLine.get(id);
    if (first !== undefined) return fail(`line ${n}`, 'source', `duplicate id "${id}" (first on line ${first})`);
    firstLine.set(id, n);

    const filename = r['filename'];
    if (typeof filename !== 'string' || filename === '') return fail(id, 'source', 'missing or invalid "filename"');
    const escapes = fail(id, 'source', `filename ${JSON.stringify(filename)} escapes images/`);
    if (escapesLexically(filename)) return escapes;

    const sourceUrl = typeof r['source_url'] === 'string' ? r['source_url'].trim() : '';
    const item: SourceItem = {
      sourceType: this.type,
      sourceId: id,
      path: path.join(layout.imagesRoot, filename),
      root: layout.imagesRoot,
      category: typeof r['category'] === 'string' && r['category'].trim() ? r['category'].trim() : DEFAULT_CATEGORY,
      tags: Array.isArray(r['tags']) ? dedupe(r['tags'].filter((t): t is string => typeof t === 'string')) : [],
      ...(sourceUrl ? { sourceUrl } : {}),
    };
    // A file missing right now (not downloaded yet, restored later) keeps its item: its job can be retried.
    const shown = `images/${path.posix.normalize(filename)}`;
    const missing = () => fail(id, 'read', `file not found: ${shown}`, false, item);
    const { imagesReal } = layout;
    if (!imagesReal) return missing();
    let real: string;
    try {
      const found = await locate(imagesReal, filename);
      real = found.real;
      // A symlink (of the file or of a folder on the way) may point anywhere: judge the real path
      // before anything else touches the target. The read checks again on the opened file.
      if (real !== imagesReal && !isInside(imagesReal, real)) return escapes;
      if (!(found.isFile ?? (await fs.stat(real)).isFile())) return fail(id, 'read', `not a regular file: ${shown}`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return missing();
      if (code === 'ELOOP') return fail(id, 'source', `symlink loop at ${shown}`);
      return fail(id, 'read', `cannot access ${shown}: ${errorMessage(err)}`, false);
    }
    return { kind: 'item', item: { ...item, path: real } };
  }
}

/**
 * The real path of images/<filename>. A flat name that lstat shows is not a
 * symlink cannot leave images/, so the common case costs one call, not two.
 */
async function locate(imagesReal: string, filename: string): Promise<{ real: string; isFile?: boolean }> {
  if (!filename.includes('/')) {
    const direct = path.join(imagesReal, filename);
    const stat = await fs.lstat(direct);
    if (!stat.isSymbolicLink()) return { real: direct, isFile: stat.isFile() };
  }
  return { real: await fs.realpath(path.join(imagesReal, filename)) };
}

/** Rejects what could leave images/ before any file system call: absolute, `..`, Windows forms, NUL. */
function escapesLexically(filename: string): boolean {
  if (filename.includes('\0') || filename.includes('\\')) return true;
  if (filename.startsWith('/') || /^[A-Za-z]:/.test(filename)) return true;
  return filename.split('/').includes('..');
}
