/**
 * What is in the staging area and what a crash or a hand edit left behind:
 * per source, items, bytes, formats, the animated share and orphans (image
 * files without a manifest line, lines without their file, unfinished
 * downloads). Inspecting never changes anything; `planClean` + `applyClean`
 * delete, and only what the plan lists.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { LockedError, UsageError } from '../errors.js';
import { readCrawlState } from '../crawl/crawl-state.js';
import { MANIFEST, TEMP_PREFIX, stagingPaths, type StagingPaths } from './layout.js';
import { crawlLockHolder } from './lock.js';
import { readManifest, tornTailBytes } from './manifest.js';

/** How many names of each kind of orphan are listed (all are counted). */
const LISTED = 20;

export interface OrphanList {
  count: number;
  /** The first few, relative to the source folder. */
  examples: string[];
}

export interface SourceStats {
  id: string;
  dir: string;
  items: number;
  bytes: number;
  formats: Record<string, number>;
  animated: number;
  animated_share: number;
  malformed_lines: number;
  duplicate_ids: number;
  /** Bytes of a last line a crash cut short (the next crawl cuts it off). */
  torn_tail_bytes: number;
  /** Images refused for good by earlier crawls (skipped.jsonl). */
  refused: number;
  cursor?: number;
  orphans: {
    images_without_line: OrphanList;
    lines_without_image: OrphanList;
    temp_files: OrphanList;
  };
}

/** Every folder under the staging root that has a manifest. */
export async function listStagingIds(root: string): Promise<string[]> {
  const entries = await fs.readdir(root, { withFileTypes: true }).catch(() => []);
  const ids: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const stat = await fs.stat(path.join(root, e.name, MANIFEST)).catch(() => undefined);
    if (stat?.isFile()) ids.push(e.name);
  }
  return ids.sort();
}

export async function sourceStats(root: string, id: string): Promise<SourceStats> {
  const paths = await existingSource(root, id);
  const files = await imageFiles(paths.images);
  const referenced = new Set<string>();
  const seen = new Set<string>();
  const formats: Record<string, number> = {};
  const missing: string[] = [];
  let items = 0, bytes = 0, animated = 0, malformed = 0, duplicates = 0, missingCount = 0;

  for await (const line of readManifest(paths.manifest)) {
    if (line.kind === 'malformed') { malformed++; continue; }
    const { id: itemId, filename, format, is_animated } = line.record;
    if (typeof itemId !== 'string' || typeof filename !== 'string' || filename === '') { malformed++; continue; }
    if (seen.has(itemId)) { duplicates++; continue; }
    seen.add(itemId);
    const name = path.posix.normalize(filename);
    referenced.add(name);
    const size = files.sizes.get(name);
    if (size === undefined) {
      missingCount++;
      if (missing.length < LISTED) missing.push(`line ${line.line}: images/${name}`);
      continue;
    }
    items++;
    bytes += size;
    const f = typeof format === 'string' && format ? format : path.extname(name).slice(1) || 'unknown';
    formats[f] = (formats[f] ?? 0) + 1;
    if (is_animated === true) animated++;
  }
  const unreferenced = [...files.sizes.keys()].filter((n) => !referenced.has(n)).sort();
  const state = await readCrawlState(paths.state);
  return {
    id,
    dir: paths.dir,
    items,
    bytes,
    formats,
    animated,
    animated_share: items ? Math.round((animated / items) * 1000) / 1000 : 0,
    malformed_lines: malformed,
    duplicate_ids: duplicates,
    torn_tail_bytes: (await tornTailBytes(paths.manifest)).torn,
    refused: await countLines(paths.skipped),
    ...(state ? { cursor: state.cursor } : {}),
    orphans: {
      images_without_line: list(unreferenced.map((n) => `images/${n}`)),
      lines_without_image: { count: missingCount, examples: missing },
      temp_files: list(files.temps.map((n) => `images/${n}`)),
    },
  };
}

export interface CleanPlan {
  id: string;
  dir: string;
  /** `orphans`: only unreferenced images and unfinished downloads; `all`: everything staged (state.json stays). */
  scope: 'all' | 'orphans';
  /** Absolute paths, files and folders. */
  targets: string[];
  files: number;
  bytes: number;
}

export async function planClean(root: string, id: string, scope: 'all' | 'orphans'): Promise<CleanPlan> {
  const paths = await existingSource(root, id);
  const files = await imageFiles(paths.images);
  let chosen: string[];
  if (scope === 'orphans') {
    const referenced = new Set(await referencedNames(paths));
    chosen = [...files.sizes.keys()].filter((n) => !referenced.has(n)).concat(files.temps);
  } else {
    chosen = [...files.sizes.keys(), ...files.temps];
  }
  const targets = chosen.map((n) => path.join(paths.images, n));
  let bytes = chosen.reduce((sum, n) => sum + (files.sizes.get(n) ?? files.tempSizes.get(n) ?? 0), 0);
  if (scope === 'all') {
    for (const f of [paths.manifest, paths.skipped]) {
      const stat = await fs.stat(f).catch(() => undefined);
      if (stat) {
        targets.push(f);
        bytes += stat.size;
      }
    }
  }
  return { id, dir: paths.dir, scope, targets, files: targets.length, bytes };
}

/** Deletes what the plan lists; refuses while a crawl of the source is running. */
export async function applyClean(root: string, plan: CleanPlan): Promise<void> {
  const paths = await existingSource(root, plan.id);
  const holder = crawlLockHolder(paths.lock);
  if (holder) {
    throw new LockedError(`a crawl of "${plan.id}" is running (pid ${holder.pid}); clean it when the crawl has finished`);
  }
  for (const target of plan.targets) await fs.rm(target, { force: true });
  if (plan.scope === 'all') await removeEmptyDirs(paths.images);
}

// ------------------------------------------------------------------ helpers

async function existingSource(root: string, id: string): Promise<StagingPaths> {
  const paths = stagingPaths(root, id);
  const stat = await fs.lstat(paths.dir).catch(() => undefined);
  if (!stat) {
    const ids = await listStagingIds(path.resolve(root));
    throw new UsageError(`no staging source "${id}" under ${path.resolve(root)}${ids.length ? `; available: ${ids.join(', ')}` : ''}`);
  }
  // A symlinked source folder could make clean delete files anywhere.
  if (!stat.isDirectory()) throw new UsageError(`${paths.dir} is not a plain folder (a symlink?); refusing to inspect or clean it`);
  return paths;
}

interface ImageFiles {
  /** Finished images by path relative to images/ (posix separators). */
  sizes: Map<string, number>;
  temps: string[];
  tempSizes: Map<string, number>;
}

async function imageFiles(images: string): Promise<ImageFiles> {
  const out: ImageFiles = { sizes: new Map(), temps: [], tempSizes: new Map() };
  const entries = await fs.readdir(images, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath ?? (e as { path?: string }).path ?? images, e.name);
    const rel = path.relative(images, full).split(path.sep).join('/');
    const size = (await fs.stat(full)).size;
    if (e.name.startsWith(TEMP_PREFIX)) {
      out.temps.push(rel);
      out.tempSizes.set(rel, size);
    } else out.sizes.set(rel, size);
  }
  out.temps.sort();
  return out;
}

async function referencedNames(paths: StagingPaths): Promise<string[]> {
  const names: string[] = [];
  for await (const line of readManifest(paths.manifest)) {
    if (line.kind === 'record' && typeof line.record.filename === 'string') names.push(path.posix.normalize(line.record.filename));
  }
  return names;
}

async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const line of readManifest(file)) if (line.kind === 'record') n++;
  return n;
}

async function removeEmptyDirs(dir: string): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) {
    await removeEmptyDirs(path.join(dir, e.name));
    await fs.rmdir(path.join(dir, e.name)).catch(() => undefined);
  }
}

function list(names: string[]): OrphanList {
  return { count: names.length, examples: names.slice(0, LISTED) };
}
