/**
 * Builds the item processor for a collection from the app: ingest and
 * retry-pending must process an item in exactly the same way.
 */
import type { App } from '../app.js';
import type { EmbeddingConfig } from '../config/types.js';
import type { Embedder, Log } from '../ports.js';
import { ItemProcessor } from '../pipeline/process-item.js';
import { defaultFailurePolicy } from '../resilience/backoff.js';
import { systemTime, type RunTime } from './run-time.js';

export type { RunTime };

export function buildItemProcessor(
  app: App,
  embedding: EmbeddingConfig,
  embedder: Embedder,
  opts: { workers: number; force: boolean; dryRun: boolean; skipDuplicates?: boolean; owner?: string; time?: RunTime; log?: Log },
): ItemProcessor {
  const { config } = app;
  const { clock, random } = opts.time ?? systemTime;
  return new ItemProcessor(
    {
      store: app.store,
      storage: app.storage,
      describer: app.describer,
      embedder,
      redact: app.redact,
      now: () => new Date(clock.now()),
      random,
      owner: opts.owner,
      log: opts.log,
      leaseMs: config.database.leaseMs,
      ...(opts.skipDuplicates ? { captionReader: app.captionReader } : {}),
    },
    {
      collection: embedding.collection,
      lanes: opts.workers,
      limits: { maxPixels: config.ingest.maxPixels },
      input: { maxBytes: config.ingest.maxFileBytes },
      minSide: config.ingest.minSide,
      maxSide: config.vlm.maxSide,
      force: opts.force,
      dryRun: opts.dryRun,
      skipDuplicates: opts.skipDuplicates ?? false,
      failurePolicy: { ...defaultFailurePolicy, maxAttempts: config.ingest.maxAttempts },
    },
  );
}
