/** Small builders for the store contract suite: commit inputs with deterministic vectors. */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach } from 'node:test';
import type { ImageFacts, SourceItem } from '../../src/ports.js';
import { objectKey } from '../../src/storage/object-key.js';
import type { CommitInput, LibraryStore } from '../../src/store/ports.js';
import type { StoreBackend, TestLibrary } from './store-backends.js';

export const DIMS = 16;

export function md5Of(name: string): string {
  return createHash('md5').update(name).digest('hex');
}

/** A unit vector pointing mostly along axis `axis`, nudged by `name` so every meme differs. */
export function vectorFor(axis: number, name = ''): Float32Array {
  const v = new Float32Array(DIMS);
  const h = createHash('sha256').update(name).digest();
  for (let i = 0; i < DIMS; i++) v[i] = (h[i]! / 255) * 0.05;
  v[axis % DIMS]! += 1;
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

export interface MemeSpec {
  name: string;
  caption?: string;
  category?: string;
  tags?: string[];
  animated?: boolean;
  sourceType?: string;
  axis?: number;
  collection?: string;
}

export function commitInput(spec: MemeSpec): CommitInput {
  const md5 = md5Of(spec.name);
  const item: SourceItem = {
    sourceType: spec.sourceType ?? 'staging:a',
    sourceId: spec.name,
    path: `/nowhere/${spec.name}.png`,
    category: spec.category ?? '熊猫头',
    tags: spec.tags ?? [],
  };
  const facts: ImageFacts = {
    md5,
    format: spec.animated ? 'gif' : 'png',
    ext: spec.animated ? 'gif' : 'png',
    width: 100,
    height: 100,
    frames: spec.animated ? 4 : 1,
    isAnimated: spec.animated ?? false,
    fileSize: 1000,
  };
  return {
    item,
    facts,
    storageKey: objectKey(md5, facts.ext),
    description: { ocrText: spec.caption ?? spec.name, description: `${item.category}表情包`, emotions: ['无奈'] },
    descriptionKey: { md5, vlmModel: 'vlm-a', promptVersion: '1' },
    collection: spec.collection ?? 'main',
    embeddingModel: 'embed-a',
    vector: vectorFor(spec.axis ?? 0, spec.name),
    replace: false,
  };
}

/** Saves the description and commits the meme, as the item pipeline does; returns the meme id. */
export async function addMeme(store: LibraryStore, spec: MemeSpec): Promise<number> {
  const input = commitInput(spec);
  await store.saveDescription(input.descriptionKey, input.description);
  return (await store.commitItem(input)).memeId;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A failed item of source staging:a in collection main, as the item pipeline records it. */
export const failure = (sourceId: string, permanent = false) => ({
  sourceType: 'staging:a', sourceId, collection: 'main', path: `/x/${sourceId}.png`, stage: 'embed' as const, reason: 'HTTP 503 Service Unavailable', permanent,
  payload: { path: `/x/${sourceId}.png`, category: '猫猫', tags: ['开心'] },
});

/** The schedule of a transient failure: retry in a minute. */
export const inAMinute = () => ({ status: 'failed' as const, nextRetryAt: new Date(Date.now() + 60_000) });

/**
 * A fresh library of `backend` for each test of the calling suite, with the
 * collection `main` every case uses; `current.store` is the one in use.
 */
export function freshLibraryPerTest(backend: StoreBackend): { readonly store: LibraryStore; readonly lib: TestLibrary } {
  const current = {} as { store: LibraryStore; lib: TestLibrary };
  beforeEach(async () => {
    current.lib = await backend.create();
    current.store = current.lib.store;
    await current.store.ensureCollection('main', DIMS, 'embed-a');
  });
  afterEach(async () => current.lib.cleanup());
  return current;
}
