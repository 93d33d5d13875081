/**
 * The depth-first walk shared by the tree sources (chinesebqb, dir). Each
 * folder is listed with opendir and sorted by name, so the order is stable
 * across runs and machines and only the folders on the current path are held
 * in memory, never the whole tree.
 */
import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { UsageError, errorMessage } from '../errors.js';
import type { SourceEntry } from '../ports.js';

export interface WalkedFile {
  kind: 'file';
  /** Absolute path; for a symlink, its real path (checked to be inside the root). */
  path: string;
  /** Real path of the root: the file must still be inside it when it is read. */
  root: string;
  /** Path relative to the root with `/` separators: the stable source id. */
  rel: string;
  /** The folder part of `rel` ('' at the top level). */
  dir: string;
  name: string;
}

export type WalkEntry = WalkedFile | Extract<SourceEntry, { kind: 'problem' }>;

export interface WalkOptions {
  /** Recorded in the problems the walk reports. */
  sourceType: string;
  /** Decides from the file name alone, before anything else is looked at. */
  accept(name: string): boolean;
  signal?: AbortSignal;
}

/** True when `child` lies strictly below `parent` (both real, absolute paths). */
export function isInside(parent: string, child: string): boolean {
  const prefix = parent.endsWith(path.sep) ? parent : parent + path.sep;
  return child.startsWith(prefix);
}

/** Throws a UsageError naming `label` unless `dir` is an existing folder. */
export async function requireDirectory(dir: string, label: string, hint = ''): Promise<void> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) throw new UsageError(`${label} not found: ${dir}${hint ? `. ${hint}` : ''}`);
}

/**
 * Yields the accepted regular files under `root`. Hidden files and folders
 * (.git, .DS_Store, macOS `._x.png` shadows) are skipped. Symlinked files are
 * offered only when their target lies inside the root; symlinked folders are
 * never followed, which rules out cycles and duplicate ids. FIFOs, sockets and
 * devices are ignored: opening a FIFO would hang the run.
 */
export async function* walkFiles(root: string, opts: WalkOptions): AsyncGenerator<WalkEntry> {
  const realRoot = await fs.realpath(root);
  yield* walkFolder(path.resolve(root), '', realRoot, opts);
}

async function* walkFolder(abs: string, rel: string, realRoot: string, opts: WalkOptions): AsyncGenerator<WalkEntry> {
  let entries: Dirent[];
  try {
    entries = await listSorted(abs);
  } catch (err) {
    // An unreadable subfolder is one failure to report, not a reason to stop the run.
    yield problem(opts, rel, 'read', `cannot list folder ${rel}: ${errorMessage(err)}`, false);
    return;
  }
  for (const entry of entries) {
    if (opts.signal?.aborted) return;
    const name = entry.name;
    if (name.startsWith('.')) continue;
    const childAbs = path.join(abs, name);
    const childRel = rel ? `${rel}/${name}` : name;
    if (entry.isDirectory()) {
      yield* walkFolder(childAbs, childRel, realRoot, opts);
    } else if (!opts.accept(name)) {
      continue;
    } else if (entry.isFile()) {
      yield { kind: 'file', path: childAbs, root: realRoot, rel: childRel, dir: rel, name };
    } else if (entry.isSymbolicLink()) {
      const resolved = await resolveLink(childAbs, { rel: childRel, dir: rel, name }, realRoot, opts);
      if (resolved) yield resolved;
    }
  }
}

async function resolveLink(
  abs: string,
  where: Pick<WalkedFile, 'rel' | 'dir' | 'name'>,
  realRoot: string,
  opts: WalkOptions,
): Promise<WalkEntry | undefined> {
  const rel = where.rel;
  let real: string;
  try {
    real = await fs.realpath(abs);
  } catch {
    return problem(opts, rel, 'read', `broken symlink: ${rel}`, false);
  }
  // Checked before any stat of the target: nothing outside the root is looked at further.
  if (!isInside(realRoot, real)) return problem(opts, rel, 'source', `symlink ${rel} leads outside the source folder`, true);
  const stat = await fs.stat(real).catch(() => undefined);
  return stat?.isFile() ? { kind: 'file', path: real, root: realRoot, ...where } : undefined;
}

/** One folder's entries sorted by name (code-unit order: the same under every locale). */
async function listSorted(dir: string): Promise<Dirent[]> {
  const entries: Dirent[] = [];
  for await (const entry of await fs.opendir(dir)) entries.push(entry);
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function problem(
  opts: WalkOptions,
  sourceId: string,
  stage: 'source' | 'read',
  reason: string,
  permanent: boolean,
): WalkEntry {
  return { kind: 'problem', problem: { sourceType: opts.sourceType, sourceId: sourceId || '.', stage, reason, permanent } };
}
