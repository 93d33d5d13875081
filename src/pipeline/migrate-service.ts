/**
 * `emomo migrate`: copies a whole library into another store, page by page,
 * without a single provider call: descriptions first (the paid part), then
 * memes with their source links, vectors, keyword rows, perceptual hashes
 * and aliases, then template-variant links (both ends exist by then), then jobs. Every
 * page is one transaction on the target and every row is matched there on
 * its natural key, so a run killed at any moment is simply run again: what
 * arrived is left alone, the rest is copied, and the counts end equal.
 */
import type { LibraryCounts, LibraryExport, LibraryImport, LibraryStore } from '../store/ports.js';

export interface MigrateDeps {
  source: LibraryExport & Pick<LibraryStore, 'countLibrary'>;
  target: LibraryImport & Pick<LibraryStore, 'ensureCollection' | 'countLibrary'>;
}

export type MigrateStep = 'descriptions' | 'memes' | 'variants' | 'jobs';

export interface MigrateOptions {
  /** Rows per page (one target transaction each). */
  batchSize: number;
  /** Checked between pages: the page in flight always finishes. */
  signal?: AbortSignal;
  onProgress?: (step: MigrateStep, done: number, total: number) => void;
}

export interface MigrateSummary {
  /** Rows written to the target by this run (rows already there are not counted). */
  copied: LibraryCounts;
  /** Rows of each kind in the source and, after the run, in the target. */
  source: LibraryCounts;
  target: LibraryCounts;
  /** Kinds of which the target holds fewer rows than the source (empty when the move is complete). */
  short: Array<keyof LibraryCounts>;
  duration_ms: number;
  aborted?: string;
}

export function emptyCounts(): LibraryCounts {
  return { collections: 0, memes: 0, source_links: 0, descriptions: 0, vectors: 0, keyword_rows: 0, jobs: 0, picture_hashes: 0, aliases: 0, variants: 0 };
}

export async function migrateLibrary(deps: MigrateDeps, opts: MigrateOptions): Promise<MigrateSummary> {
  const { source, target } = deps;
  const started = Date.now();
  const copied = emptyCounts();
  const stopped = () => opts.signal?.aborted ?? false;
  let sourceCounts: LibraryCounts;

  await source.beginExport();
  try {
    sourceCounts = await source.countLibrary();
    for (const c of await source.exportCollections()) {
      // A collection of another dimension in the target stops the move here (DimensionMismatchError).
      await target.ensureCollection(c.name, c.dims, c.model);
      copied.collections++;
    }

    /** Reads a kind page by page after the last row's position (`at`), until none is left or the run is stopped. */
    const pages = async <T>(step: MigrateStep, read: (after: number) => Promise<T[]>, at: (row: T) => number, write: (page: T[]) => Promise<void>) => {
      for (let after = 0, done = 0; !stopped(); ) {
        const page = await read(after);
        if (page.length === 0) return;
        await write(page);
        after = at(page[page.length - 1]!);
        opts.onProgress?.(step, (done += page.length), sourceCounts[step]);
      }
    };
    await pages('descriptions', (after) => source.exportDescriptions(after, opts.batchSize), (d) => d.seq, async (page) => {
      copied.descriptions += await target.importDescriptions(page);
    });
    await pages('memes', (after) => source.exportMemes(after, opts.batchSize), (m) => m.id, async (page) => {
      const written = await target.importMemes(page);
      for (const kind of ['memes', 'source_links', 'vectors', 'keyword_rows', 'picture_hashes', 'aliases'] as const) copied[kind] += written[kind];
    });
    await pages('variants', (after) => source.exportVariants(after, opts.batchSize), (v) => v.memeId, async (page) => {
      copied.variants += await target.importVariants(page);
    });
    await pages('jobs', (after) => source.exportJobs(after, opts.batchSize), (j) => j.id, async (page) => {
      copied.jobs += await target.importJobs(page);
    });
  } finally {
    await source.endExport();
  }

  const targetCounts = await target.countLibrary();
  const short = (Object.keys(sourceCounts) as Array<keyof LibraryCounts>).filter((kind) => targetCounts[kind] < sourceCounts[kind]);
  const summary: MigrateSummary = { copied, source: sourceCounts, target: targetCounts, short, duration_ms: Date.now() - started };
  if (stopped()) summary.aborted = 'interrupted; run the same command again to finish';
  return summary;
}
