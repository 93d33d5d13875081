/** `emomo stats`: what the library holds, per source, collection and status. */
import type { ObjectStorage } from '../ports.js';

export interface SourceStats {
  source: string;
  memes: number;
  animated: number;
  bytes: number;
}

export interface LibraryStats {
  sources: Array<SourceStats & { animated_share: number }>;
  collections: Array<{ collection: string; dims: number; model: string; vectors: number }>;
  memes_by_status: Array<{ status: string; count: number }>;
  jobs_by_status: Array<{ status: string; count: number }>;
  top_failure_reasons: Array<{ stage: string; reason: string; count: number }>;
  /** Token totals are what remote VLMs reported (0 for the offline describer): what the descriptions cost. */
  descriptions_by_model: Array<{
    vlm_model: string;
    prompt_version: string;
    count: number;
    prompt_tokens: number;
    completion_tokens: number;
  }>;
  storage: {
    /** Sum of file_size over memes (each image once). */
    bytes: number;
    memes: number;
    /** Objects actually listed in storage; absent when counting was not asked for. */
    objects?: number;
  };
}

/** What stats needs from the database (src/store/stats-queries.ts on SQLite). */
export interface StatsStore {
  read(topReasons: number): Omit<LibraryStats, 'sources' | 'storage'> & {
    sources: SourceStats[];
    storage: { bytes: number; memes: number };
  };
}

export interface StatsOptions {
  topReasons: number;
  /** List the object storage to count objects (cheap on a local directory, slow on a big bucket). */
  countObjects: boolean;
}

export async function libraryStats(store: StatsStore, storage: ObjectStorage, options: StatsOptions): Promise<LibraryStats> {
  const raw = store.read(options.topReasons);
  const stats: LibraryStats = {
    ...raw,
    sources: raw.sources.map((s) => ({ ...s, animated_share: s.memes ? round(s.animated / s.memes) : 0 })),
  };
  if (options.countObjects) {
    let objects = 0;
    for await (const _ of storage.list()) objects++;
    stats.storage.objects = objects;
  }
  return stats;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
