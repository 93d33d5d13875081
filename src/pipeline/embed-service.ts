/**
 * Backfills one collection: every meme that has a description but no vector
 * there is embedded from its latest description, with the same text ingest
 * uses, in batches of `batchSize` texts per request; an image collection
 * embeds each meme's picture instead, read from its stored object. No
 * describer is ever called. Each batch is claimed across processes, embedded, and
 * committed in one transaction, so a crash loses at most the batch in flight
 * and a re-run picks up exactly what is missing. A provider that keeps
 * failing is the provider gate's business (it waits out an outage, or stops
 * the run with an AbortedError); a batch that still fails is counted and the
 * run goes on.
 */
import { AbortedError, errorMessage } from '../errors.js';
import { abortReason, systemClock, type Clock } from '../resilience/clock.js';
import type { ImageLimits } from '../images/probe.js';
import type { Embedder, ObjectStorage } from '../ports.js';
import type { Redactor } from '../redact.js';
import type { BackfillCandidate, BackfillStore, BackfillVector, ClaimStore } from '../store/ports.js';
import { LeaseKeeper } from './claim-lease.js';
import { embedMemes, embedsPictures, type MemeToEmbed } from './meme-vector.js';
import { checkVector } from './vector-check.js';

export interface EmbedDeps {
  store: BackfillStore & ClaimStore;
  embedder: Embedder;
  redact: Redactor;
  /** This process as a claim owner (see src/store/claim-owner.ts). */
  owner: string;
  /** How long this process's claims last without a renewal (default CLAIM_LEASE_MS). */
  leaseMs?: number;
  /** Where an image collection reads each meme's picture from, and the checks it passes. */
  pictures?: { storage: Pick<ObjectStorage, 'get'>; limits: ImageLimits; maxSide: number };
}

export interface EmbedOptions {
  collection: string;
  batchSize: number;
  /** Stop after this many memes (0 = all). */
  limit: number;
  /** Checked between batches: the batch in flight always finishes. */
  signal?: AbortSignal;
  onBatch?: (summary: EmbedSummary) => void;
}

export interface EmbedSummary {
  collection: string;
  embedded: number;
  /** Taken by another process, or given a vector by one meanwhile. */
  skipped: number;
  failed: number;
  /** Embedding requests made (one per batch). */
  requests: number;
  failures: Array<{ md5: string; reason: string }>;
  duration_ms: number;
  aborted?: string;
}

const FAILURE_DETAIL_LIMIT = 1000;

export function emptyEmbedSummary(collection: string): EmbedSummary {
  return { collection, embedded: 0, skipped: 0, failed: 0, requests: 0, failures: [], duration_ms: 0 };
}

export async function backfillEmbeddings(deps: EmbedDeps, opts: EmbedOptions): Promise<EmbedSummary> {
  const { store, embedder } = deps;
  const started = Date.now();
  const summary = emptyEmbedSummary(opts.collection);
  let afterId = 0;
  let taken = 0;
  const lease = new LeaseKeeper(store, deps.owner, deps.leaseMs);

  while (!opts.signal?.aborted && (opts.limit === 0 || taken < opts.limit)) {
    const want = opts.limit === 0 ? opts.batchSize : Math.min(opts.batchSize, opts.limit - taken);
    const candidates = await store.findUnembedded(opts.collection, afterId, want);
    if (candidates.length === 0) break;
    afterId = candidates[candidates.length - 1]!.memeId;

    const held = await store.claimItems(candidates.map((c) => c.md5), opts.collection, deps.owner, lease.leaseMs);
    const mine = candidates.filter((c) => held.has(c.md5));
    summary.skipped += candidates.length - mine.length;
    taken += mine.length;
    if (mine.length === 0) continue;
    const release = lease.hold();
    try {
      const { ready, memes } = await memesToEmbed(deps, mine, summary);
      if (memes.length > 0) summary.requests++;
      const vectors = memes.length > 0 ? await embedMemes(embedder, memes) : [];
      const ok: BackfillVector[] = [];
      ready.forEach((candidate, i) => {
        try {
          checkVector(vectors[i], embedder.dimensions, embedder.model);
          ok.push({ candidate, vector: vectors[i]! });
        } catch (err) {
          addFailure(summary, candidate.md5, deps.redact(errorMessage(err)));
        }
      });
      const written = await store.commitVectors(opts.collection, embedder.model, ok);
      summary.embedded += written.length;
      summary.skipped += ok.length - written.length;
    } catch (err) {
      if (err instanceof AbortedError) {
        summary.aborted = err.message;
        break;
      }
      const reason = deps.redact(errorMessage(err));
      for (const c of mine) addFailure(summary, c.md5, reason);
    } finally {
      release();
      await store.releaseItems(mine.map((c) => c.md5), opts.collection, deps.owner);
    }
    opts.onBatch?.(summary);
  }

  if (!summary.aborted && opts.signal?.aborted) summary.aborted = abortReason(opts.signal);
  summary.duration_ms = Date.now() - started;
  return summary;
}

export interface WatchOptions extends EmbedOptions {
  intervalMs: number;
  /** Waits between passes (a signal ends the wait early). */
  clock?: Clock;
  onPass?: (pass: EmbedSummary, passes: number) => void;
}

/**
 * `embed --watch`: a pass, then a pause of `intervalMs`, until the signal
 * aborts. The returned summary adds up every pass; a signal ends the watch
 * cleanly (it is not reported as aborted).
 */
export async function watchEmbeddings(deps: EmbedDeps, opts: WatchOptions): Promise<EmbedSummary & { passes: number }> {
  const clock = opts.clock ?? systemClock;
  const total = { ...emptyEmbedSummary(opts.collection), passes: 0 };
  const started = Date.now();
  while (!opts.signal?.aborted) {
    const pass = await backfillEmbeddings(deps, opts);
    total.passes++;
    total.embedded += pass.embedded;
    total.skipped += pass.skipped;
    total.failed += pass.failed;
    total.requests += pass.requests;
    for (const f of pass.failures) if (total.failures.length < FAILURE_DETAIL_LIMIT) total.failures.push(f);
    opts.onPass?.(pass, total.passes);
    if (pass.aborted && !opts.signal?.aborted) {
      total.aborted = pass.aborted;
      break;
    }
    await clock.sleep(opts.intervalMs, opts.signal).catch(() => {
      // Aborted: the loop condition ends the watch.
    });
  }
  total.duration_ms = Date.now() - started;
  return total;
}

/** The batch as the embedder takes it; a picture that cannot be read is this meme's failure, not the batch's. */
async function memesToEmbed(
  deps: EmbedDeps,
  batch: BackfillCandidate[],
  summary: EmbedSummary,
): Promise<{ ready: BackfillCandidate[]; memes: MemeToEmbed[] }> {
  const ready: BackfillCandidate[] = [];
  const memes: MemeToEmbed[] = [];
  for (const c of batch) {
    const meme: MemeToEmbed = { description: c.description, tags: c.tags };
    if (embedsPictures(deps.embedder)) {
      if (!deps.pictures) throw new Error('an image collection needs object storage to read pictures from');
      const { storage, limits, maxSide } = deps.pictures;
      // Loaded on first use: a text backfill (and every command that only imports this module) never loads sharp.
      const { stillFromFile } = await import('../images/vlm-input.js');
      try {
        meme.picture = await stillFromFile(await storage.get(c.storageKey), limits, maxSide);
      } catch (err) {
        addFailure(summary, c.md5, `picture ${c.storageKey}: ${deps.redact(errorMessage(err))}`);
        continue;
      }
    }
    ready.push(c);
    memes.push(meme);
  }
  return { ready, memes };
}

function addFailure(summary: EmbedSummary, md5: string, reason: string): void {
  summary.failed++;
  if (summary.failures.length < FAILURE_DETAIL_LIMIT) summary.failures.push({ md5, reason: reason.slice(0, 2000) });
}
