/**
 * Builds the item processor for a collection from the app: ingest and
 * retry-pending must process an item in exactly the same way.
 */
import type { App } from '../app.js';
import type { EmbeddingConfig } from '../config/types.js';
import type { Embedder } from '../ports.js';
import { defaultFailurePolicy } from '../pipeline/failure-policy.js';
import { ItemProcessor } from '../pipeline/process-item.js';
import { systemClock, type Clock } from './clock.js';

export type { Clock };

export function buildItemProcessor(
  app: App,
  embedding: EmbeddingConfig,
  embedder: Embedder,
  opts: { workers: number; force: boolean; dryRun: boolean; owner?: string; clock?: Clock },
): ItemProcessor {
  const { config } = app;
  const clock = opts.clock ?? systemClock;
  return new ItemProcessor(
    { store: app.store, storage: app.storage, describer: app.describer, embedder, redact: app.redact, now: clock.now, random: clock.random, owner: opts.owner },
    {
      collection: embedding.collection,
      lanes: opts.workers,
      limits: { maxPixels: config.ingest.maxPixels },
      input: { maxBytes: config.ingest.maxFileBytes },
      minSide: config.ingest.minSide,
      maxSide: config.vlm.maxSide,
      force: opts.force,
      dryRun: opts.dryRun,
      failurePolicy: { ...defaultFailurePolicy, maxAttempts: config.ingest.maxAttempts },
    },
  );
}
