/** `emomo stats`: what the library holds, per source, collection and status. */
import type { ObjectStorage } from '../ports.js';
import type { StatsStore, StoreStats } from '../store/ports.js';

/**
 * What `emomo stats` reports. Token totals of `descriptions_by_model` are what
 * remote VLMs reported (0 for the offline describer): what the descriptions cost.
 */
export interface LibraryStats extends Omit<StoreStats, 'sources' | 'storage'> {
  sources: Array<StoreStats['sources'][number] & { animated_share: number }>;
  storage: StoreStats['storage'] & {
    /** Objects actually listed in storage; absent when counting was not asked for. */
    objects?: number;
  };
}

export interface StatsOptions {
  topReasons: number;
  /** List the object storage to count objects (cheap on a local directory, slow on a big bucket). */
  countObjects: boolean;
}

export async function libraryStats(store: StatsStore, storage: ObjectStorage, options: StatsOptions): Promise<LibraryStats> {
  const raw = await store.readStats(options.topReasons);
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
