/**
 * `emomo redescribe`: reads memes again with the describer as it is now
 * configured, on purpose (a new prompt version or frame setting never
 * re-describes, or re-pays, on its own: ingest reuses what a meme already
 * has). A meme is stale in a collection when its vector there was made from
 * another description; for each one the current description is reused if it
 * exists or made from the stored object, then embedded, and the vector and
 * keyword row are moved to it in one transaction. Resumable by construction:
 * a meme done is no longer stale, so a re-run continues where one stopped.
 */
import pLimit from 'p-limit';
import { AbortedError, errorMessage } from '../errors.js';
import { probeImage, type ImageLimits } from '../images/probe.js';
import { prepareStill } from '../images/vlm-input.js';
import type { Describer, Description, Embedder, ImageFacts, ObjectStorage } from '../ports.js';
import type { Redactor } from '../redact.js';
import { abortReason } from '../resilience/clock.js';
import type { ClaimStore, IngestStore, RedescribeStore, StaleFilter, StaleMeme } from '../store/ports.js';
import { LeaseKeeper } from './claim-lease.js';
import { describeImage } from './describe-image.js';
import { embedMemes, embedsPictures } from './meme-vector.js';
import { checkVector } from './vector-check.js';

export interface RedescribeDeps {
  store: RedescribeStore & ClaimStore & Pick<IngestStore, 'findDescription' | 'saveDescription'>;
  storage: ObjectStorage;
  describer: Describer;
  embedder: Embedder;
  redact: Redactor;
  /** This process as a claim owner (see src/store/claim-owner.ts). */
  owner: string;
}

export interface RedescribeOptions {
  collection: string;
  animatedOnly: boolean;
  limits: ImageLimits;
  maxSide: number;
  /** Memes read at once. */
  lanes: number;
  /** Stop after this many memes (0 = all). */
  limit: number;
  /** Checked between memes: those in flight finish. */
  signal?: AbortSignal;
  onProgress?: (summary: RedescribeSummary) => void;
}

export interface RedescribeSummary {
  collection: string;
  /** Describer calls made (paid, for a remote model). */
  described: number;
  /** Memes whose current description existed already (no describer call). */
  reused: number;
  /** Taken by another process, or gone meanwhile. */
  skipped: number;
  failed: number;
  failures: Array<{ md5: string; reason: string }>;
  duration_ms: number;
  aborted?: string;
}

const FAILURE_DETAIL_LIMIT = 1000;

export function staleFilter(describer: Describer, collection: string, animatedOnly: boolean): StaleFilter {
  return { collection, current: { vlmModel: describer.model, promptVersion: describer.promptVersion }, animatedOnly };
}

export async function redescribe(deps: RedescribeDeps, opts: RedescribeOptions): Promise<RedescribeSummary> {
  const { store } = deps;
  const started = Date.now();
  const summary: RedescribeSummary = { collection: opts.collection, described: 0, reused: 0, skipped: 0, failed: 0, failures: [], duration_ms: 0 };
  const filter = staleFilter(deps.describer, opts.collection, opts.animatedOnly);
  const lease = new LeaseKeeper(store, deps.owner);
  const lane = pLimit(opts.lanes);
  let afterId = 0;
  let taken = 0;

  while (!opts.signal?.aborted && !summary.aborted && (opts.limit === 0 || taken < opts.limit)) {
    const want = Math.min(opts.lanes * 4, opts.limit === 0 ? Infinity : opts.limit - taken);
    const page = await store.findStale(filter, afterId, want);
    if (page.length === 0) break;
    afterId = page[page.length - 1]!.memeId;
    const held = await store.claimItems(page.map((m) => m.md5), opts.collection, deps.owner, lease.leaseMs);
    const mine = page.filter((m) => held.has(m.md5));
    summary.skipped += page.length - mine.length;
    taken += mine.length;
    const release = lease.hold();
    try {
      await Promise.all(
        mine.map((meme) =>
          lane(async () => {
            if (opts.signal?.aborted || summary.aborted) return;
            try {
              await redescribeOne(deps, opts, meme, summary);
            } catch (err) {
              // A provider that keeps failing (circuit open) ends the run, not the meme.
              if (err instanceof AbortedError) summary.aborted ??= err.message;
              else addFailure(summary, meme.md5, deps.redact(errorMessage(err)));
            } finally {
              await store.releaseItems([meme.md5], opts.collection, deps.owner);
            }
            opts.onProgress?.(summary);
          }),
        ),
      );
    } finally {
      release();
    }
  }

  if (!summary.aborted && opts.signal?.aborted) summary.aborted = abortReason(opts.signal);
  summary.duration_ms = Date.now() - started;
  return summary;
}

async function redescribeOne(deps: RedescribeDeps, opts: RedescribeOptions, meme: StaleMeme, summary: RedescribeSummary): Promise<void> {
  const { store, describer, embedder } = deps;
  const descriptionKey = { md5: meme.md5, vlmModel: describer.model, promptVersion: describer.promptVersion };
  let description: Description | undefined = meme.described ? await store.findDescription(descriptionKey) : undefined;
  let stored: { bytes: Buffer; facts: ImageFacts } | undefined;
  const read = async () => {
    if (stored) return stored;
    const bytes = await deps.storage.get(meme.storageKey);
    return (stored = { bytes, facts: await probeImage(bytes, opts.limits) });
  };
  if (description) {
    summary.reused++;
  } else {
    const { bytes, facts } = await read();
    const image = { bytes, facts, category: meme.category, tags: meme.tags };
    description = await describeImage(describer, image, { limits: opts.limits, maxSide: opts.maxSide, ...(opts.signal ? { signal: opts.signal } : {}) });
    // Saved before anything else can fail: a paid description is kept either way.
    await store.saveDescription(descriptionKey, description);
    summary.described++;
  }
  // An image collection embeds the picture again (its vector does not depend on the description).
  const picture = embedsPictures(embedder) ? await read().then(({ bytes, facts }) => prepareStill(bytes, facts, opts.limits, opts.maxSide)) : undefined;
  const [vector] = await embedMemes(embedder, [{ description, tags: meme.tags, ...(picture ? { picture } : {}) }]);
  checkVector(vector, embedder.dimensions, embedder.model);
  const change = { memeId: meme.memeId, md5: meme.md5, embeddingModel: embedder.model, descriptionKey, description, vector: vector! };
  if (!(await store.replaceDescription(opts.collection, change))) summary.skipped++;
}

function addFailure(summary: RedescribeSummary, md5: string, reason: string): void {
  summary.failed++;
  if (summary.failures.length < FAILURE_DETAIL_LIMIT) summary.failures.push({ md5, reason: reason.slice(0, 2000) });
}
