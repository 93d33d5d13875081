/** `emomo stats`: what the library holds, per source, collection and status. */
import type { ObjectStorage } from '../ports.js';
import type { DescriptionCost, StatsStore, StoreStats } from '../store/ports.js';

/**
 * What `emomo stats` reports. Token totals of `descriptions_by_model` are what
 * remote VLMs reported (0 for the offline describer): what the descriptions cost.
 * `description_costs` shows the same per image, stills and animated memes apart,
 * with what an animated meme costs more than a still (its extra frames).
 */
export interface LibraryStats extends Omit<StoreStats, 'sources' | 'storage' | 'description_costs'> {
  sources: Array<StoreStats['sources'][number] & { animated_share: number }>;
  description_costs: Array<
    DescriptionCost & {
      /** Animated rows: time and prompt tokens per image above the stills of the same model and prompt (null: nothing to compare). */
      extra_ms_vs_still?: number | null;
      extra_prompt_tokens_vs_still?: number | null;
    }
  >;
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
    description_costs: withExtras(raw.description_costs),
  };
  if (options.countObjects) {
    let objects = 0;
    for await (const _ of storage.list()) objects++;
    stats.storage.objects = objects;
  }
  return stats;
}

/** Averages to one decimal; animated rows get what they cost above the stills of their model and prompt. */
function withExtras(costs: readonly DescriptionCost[]): LibraryStats['description_costs'] {
  const tenth = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
  const rounded = costs.map((c) => ({
    ...c,
    frames_per_image: tenth(c.frames_per_image),
    ms_per_image: tenth(c.ms_per_image),
    prompt_tokens_per_image: tenth(c.prompt_tokens_per_image),
  }));
  const minus = (a: number | null, b: number | null | undefined) => (a === null || b === null || b === undefined ? null : tenth(a - b));
  return rounded.map((c) => {
    if (c.kind !== 'animated') return c;
    const still = rounded.find((o) => o.kind === 'still' && o.vlm_model === c.vlm_model && o.prompt_version === c.prompt_version);
    return {
      ...c,
      extra_ms_vs_still: minus(c.ms_per_image, still?.ms_per_image),
      extra_prompt_tokens_vs_still: minus(c.prompt_tokens_per_image, still?.prompt_tokens_per_image),
    };
  });
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
