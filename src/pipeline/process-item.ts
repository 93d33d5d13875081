/**
 * One item through the pipeline: read → md5 → dedup on (md5, collection) →
 * claim (md5, collection) across processes → reuse the image's object and
 * description or create them → embed → commit rows and vector in one
 * transaction. What the item created is undone in reverse order when a later
 * stage fails, before the claim is released; what it reused is never touched;
 * an undo step that fails is logged with what it left behind (verify finds it).
 * A paid description is kept either way (it is a cache keyed by md5 + model).
 *
 * A transient provider failure whose retries are used up is handed back to the
 * run (`requeue`) when the run allows it, instead of being recorded at once.
 * A storage failure that will fail every item (access denied, no such bucket,
 * disk full) stops the run before more descriptions are paid for.
 */
import { AbortedError, ItemError, ProviderError, errorMessage, isPermanent, type Stage } from '../errors.js';
import { contentTypeFor } from '../images/format.js';
import { hashImage } from '../images/phash.js';
import { probeImage, type ImageLimits } from '../images/probe.js';
import { prepareStill } from '../images/vlm-input.js';
import { readInputFile, type InputLimits } from '../sources/input-file.js';
import type { Describer, Description, Embedder, ImageFacts, Log, ObjectStorage, SourceItem } from '../ports.js';
import type { Redactor } from '../redact.js';
import { scheduleAfterFailure, type FailurePolicy } from '../resilience/backoff.js';
import { sleep } from '../resilience/clock.js';
import { errorCode, failsEveryWrite, isTransient } from '../resilience/retryable.js';
import { objectKey } from '../storage/object-key.js';
import { newOwnerId } from '../store/claim-owner.js';
import type { ClaimStore, DescriptionKey, IngestStore, JobPayload, JobQueue } from '../store/ports.js';
import { LeaseKeeper } from './claim-lease.js';
import { describeImage } from './describe-image.js';
import { DuplicateCheck, type DuplicateCheckDeps } from './duplicate-check.js';
import { KeyedLock } from './keyed-lock.js';
import { LaneSlots } from './lane-slots.js';
import { embedMemes, embedsPictures } from './meme-vector.js';
import type { BusyOutcome, FailedItem, ItemHandler, ItemRun, Requeue } from './item-handler.js';
import type { ItemOutcome } from './outcome.js';
import { checkVector } from './vector-check.js';

export interface ItemDeps {
  store: IngestStore & ClaimStore & Pick<JobQueue, 'recordFailure'> & DuplicateCheckDeps['store'];
  storage: ObjectStorage;
  describer: Describer;
  embedder: Embedder;
  redact: Redactor;
  now: () => Date;
  /** Random source of the backoff jitter (tests fix it). */
  random?: () => number;
  /** This process as a claim owner (see src/store/claim-owner.ts); one is made when absent. */
  owner?: string;
  /** Where a failed undo step is reported. */
  log?: Log;
  /** Reads captions offline for `skipDuplicates` (see duplicate-check.ts). */
  captionReader?: Describer;
  /** How long this process's claims last without a renewal (default CLAIM_LEASE_MS). */
  leaseMs?: number;
}

/** How often an item claimed by another process is checked again. */
const CLAIM_POLL_MS = 100;

export type { BusyOutcome, FailedItem, ItemHandler, ItemRun, Requeue } from './item-handler.js';

export interface ItemOptions {
  collection: string;
  /**
   * Describe lanes (the worker count): items that may be describing or
   * uploading at once. Embedding and committing run behind the lanes, so a
   * lane goes straight to the next image's (slow, paid) describe call.
   */
  lanes: number;
  limits: ImageLimits;
  /** Input files larger than this are refused before a byte is read. */
  input: InputLimits;
  /** Images whose shorter side is below this are skipped (0 = no minimum). */
  minSide: number;
  maxSide: number;
  force: boolean;
  dryRun: boolean;
  failurePolicy: FailurePolicy;
  /** Skip an image whose picture and caption a meme already has, before describing it. */
  skipDuplicates?: boolean;
}

/** One step that takes back what an item created; `leaves` says what stays behind if it fails. */
interface Undo {
  leaves: string;
  run(): Promise<void>;
}

export class ItemProcessor implements ItemHandler {
  private readonly locks = new KeyedLock();
  private readonly owner: string;
  private readonly lease: LeaseKeeper;
  private readonly lanes: LaneSlots;
  private readonly duplicates: DuplicateCheck;

  constructor(
    private readonly deps: ItemDeps,
    private readonly opts: ItemOptions,
  ) {
    this.owner = deps.owner ?? newOwnerId();
    this.lease = new LeaseKeeper(deps.store, this.owner, deps.leaseMs);
    this.lanes = new LaneSlots(opts.lanes);
    this.duplicates = new DuplicateCheck(deps, opts.skipDuplicates ?? false);
  }

  async process(item: SourceItem, run: ItemRun = {}): Promise<ItemOutcome | Requeue | BusyOutcome> {
    const at: { stage: Stage } = { stage: 'read' };
    try {
      // Opened once and checked on the handle: a file swapped after listing is never read.
      const bytes = await readInputFile(item, this.opts.input);
      at.stage = 'decode';
      const facts = await probeImage(bytes, this.opts.limits);
      const { md5 } = facts;
      if (this.opts.minSide > 0 && Math.min(facts.width, facts.height) < this.opts.minSide) {
        return { kind: 'skipped', sourceId: item.sourceId, md5, reason: `smaller than ${this.opts.minSide} px` };
      }
      // Undo runs inside the lock and the claim, so nobody else can start on
      // this image until what this attempt created is gone.
      const attempt = () =>
        this.claimed(md5, run.busy === 'defer' ? item.sourceId : undefined, async (lane) => {
          const undo: Undo[] = [];
          try {
            return await this.run(item, bytes, facts, at, undo, lane);
          } catch (err) {
            await this.undo(item, md5, undo, err);
            throw err;
          }
        });
      return await this.locks.run(md5, async () => {
        for (let tries = 1; ; tries++) {
          try {
            return await attempt();
          } catch (err) {
            if (!(err instanceof MemeRemoved) || tries === MAX_TRIES_WHEN_REMOVED) throw err;
          }
        }
      });
    } catch (err) {
      // A run-level stop (provider circuit open) is not this item's fault: it is
      // undone but not recorded, and the error ends the run.
      if (err instanceof AbortedError) throw err;
      const stage = err instanceof ItemError ? err.stage : at.stage;
      if (run.mayRequeue && !this.opts.dryRun && isTransient(err)) {
        return { kind: 'requeue', sourceId: item.sourceId, stage, reason: this.deps.redact(errorMessage(err)).slice(0, 2000), error: err };
      }
      return this.fail(item, stage, err);
    }
  }

  /** Runs the undo steps in reverse order; a step that fails is logged with what it left behind, and the rest still run. */
  private async undo(item: SourceItem, md5: string, steps: Undo[], cause: unknown): Promise<void> {
    for (const step of steps.reverse()) {
      try {
        await step.run();
      } catch (err) {
        this.deps.log?.('warn', `undo failed, left behind: ${step.leaves} (emomo verify reports it; verify --repair removes it)`, {
          source_id: item.sourceId,
          md5,
          reason: this.deps.redact(errorMessage(err)).slice(0, 500),
          after: this.deps.redact(errorMessage(cause)).slice(0, 200),
        });
      }
    }
  }

  /** Records a failure found before or during processing and returns its outcome. */
  async fail(item: FailedItem, stage: Stage, err: unknown): Promise<ItemOutcome> {
    const reason = this.deps.redact(errorMessage(err)).slice(0, 2000);
    const permanent = isPermanent(err);
    if (!this.opts.dryRun) {
      const payload: JobPayload | undefined =
        item.path !== undefined && item.category !== undefined
          ? { path: item.path, root: item.root, category: item.category, tags: item.tags ?? [], sourceUrl: item.sourceUrl }
          : undefined;
      await this.deps.store.recordFailure(
        { sourceType: item.sourceType, sourceId: item.sourceId, collection: this.opts.collection, path: item.path, stage, reason, permanent, payload },
        (attempt) => scheduleAfterFailure(attempt, permanent, this.opts.failurePolicy, this.deps.now(), this.deps.random),
      );
    }
    return { kind: 'failed', sourceId: item.sourceId, stage, reason, permanent };
  }

  /**
   * Runs `work` holding a describe lane and the cross-process claim on (md5,
   * collection); the lane is taken first, so the claim is only held while
   * work can go on (`work` gives the lane back once the image is described
   * and stored). While another live process holds the claim, waits without a
   * lane (or, given `deferAs`, returns a BusyOutcome for that source id at
   * once), unless that process commits the image meanwhile: then `work`,
   * given no lane, finds the vector and skips.
   */
  private async claimed(
    md5: string,
    deferAs: string | undefined,
    work: (lane?: () => void) => Promise<ItemOutcome>,
  ): Promise<ItemOutcome | BusyOutcome> {
    const { store } = this.deps;
    const { collection } = this.opts;
    const dedup = !this.opts.force && !this.opts.dryRun;
    // Already done: no claim (and no write) needed just to say so.
    if (this.opts.dryRun || (dedup && (await store.hasVector(md5, collection)))) return work();
    for (;;) {
      const lane = await this.lanes.acquire();
      if ((await store.claimItems([md5], collection, this.owner, this.lease.leaseMs)).has(md5)) {
        const release = this.lease.hold();
        try {
          return await work(lane);
        } finally {
          lane();
          release();
          await store.releaseItems([md5], collection, this.owner);
        }
      }
      lane();
      if (dedup && (await store.hasVector(md5, collection))) return work();
      if (deferAs !== undefined) return { kind: 'busy', sourceId: deferAs, md5 };
      await sleep(CLAIM_POLL_MS);
    }
  }

  private async run(
    item: SourceItem,
    bytes: Buffer,
    facts: ImageFacts,
    at: { stage: Stage },
    undo: Undo[],
    lane?: () => void,
  ): Promise<ItemOutcome> {
    const { store, storage, describer, embedder } = this.deps;
    const { collection, force } = this.opts;
    const { md5 } = facts;
    const existing = await store.findMemeByMd5(md5);
    if (!force && (await store.hasVector(md5, collection))) {
      if (existing && !this.opts.dryRun && !(await store.linkSource(item, existing.id))) throw new MemeRemoved();
      return { kind: 'skipped', sourceId: item.sourceId, md5, reason: 'already in collection' };
    }
    const kind = existing ? 'reused' : 'added';
    if (this.opts.dryRun) return { kind, sourceId: item.sourceId, md5 };
    at.stage = 'decode';
    const hashes = await hashImage(bytes, this.opts.limits);
    let jpeg: Buffer | undefined;
    const picture = async () => (jpeg ??= await prepareStill(bytes, facts, this.opts.limits, this.opts.maxSide));

    // The item's describe lane (taken before its claim), given back once the image is described and stored.
    const laneDone = lane ?? (await this.lanes.acquire());
    type Laned = { duplicate: ItemOutcome } | { described: { key: DescriptionKey; description: Description }; storageKey: string };
    const laned = await (async (): Promise<Laned> => {
      if (!existing && !force) {
        const duplicate = await this.duplicates.check(item, facts, hashes, picture);
        if (duplicate) return { duplicate };
      }
      at.stage = 'describe';
      const wanted: DescriptionKey = { md5, vlmModel: describer.model, promptVersion: describer.promptVersion };
      let described: { key: DescriptionKey; description: Description } | undefined;
      const exact = await store.findDescription(wanted);
      if (exact) described = { key: wanted, description: exact };
      else if (existing && !force) described = await store.findLatestDescription(md5);
      if (!described) {
        const image = { bytes, facts, category: item.category, tags: item.tags };
        const description = await describeImage(describer, image, this.opts, at);
        await store.saveDescription(wanted, description);
        described = { key: wanted, description };
      }

      at.stage = 'store';
      const storageKey = existing?.storageKey ?? objectKey(md5, facts.ext);
      if (!existing) {
        const { created } = await storage.put(storageKey, bytes, contentTypeFor(facts.format)).catch((err: unknown) => {
          throw this.storageFailure(err);
        });
        if (created) {
          undo.push({
            leaves: `object ${storageKey} in ${storage.label}, which no meme refers to`,
            run: async () => {
              // Another process may have committed a meme on this object meanwhile.
              if (!(await store.isStorageKeyReferenced(storageKey))) await storage.delete(storageKey);
            },
          });
        }
      }
      return { described, storageKey };
    })().finally(laneDone);
    if ('duplicate' in laned) return laned.duplicate;
    const { described, storageKey } = laned;

    at.stage = embedsPictures(embedder) ? 'decode' : 'embed';
    const meme = { description: described.description, tags: existing?.tags ?? item.tags, picture: embedsPictures(embedder) ? await picture() : undefined };
    at.stage = 'embed';
    const [vector] = await embedMemes(embedder, [meme]);
    checkVector(vector, embedder.dimensions, embedder.model);

    at.stage = 'commit';
    const committed = await store.commitItem({
      item,
      facts,
      storageKey,
      description: described.description,
      descriptionKey: described.key,
      collection,
      embeddingModel: embedder.model,
      vector: vector!,
      replace: force,
      hashes,
    });
    // Another process took the item over (this one's claim ran out while it worked) and committed first.
    if (committed.alreadyEmbedded) return { kind: 'skipped', sourceId: item.sourceId, md5, reason: 'already in collection' };
    return { kind, sourceId: item.sourceId, md5 };
  }

  /** A write that will fail for every item stops the run (AbortedError); any other stays this item's failure. */
  private storageFailure(err: unknown): unknown {
    const status = err instanceof ProviderError ? err.status : undefined;
    if (!failsEveryWrite(errorCode(err), status)) return err;
    const why = this.deps.redact(errorMessage(err)).slice(0, 500);
    return new AbortedError(
      `object storage ${this.deps.storage.label} refuses writes (${why}); stopping the run before more descriptions are paid for`,
    );
  }
}

/** The meme an item was being linked to was purged meanwhile: the image is new again and the item runs again. */
class MemeRemoved extends ItemError {
  constructor() {
    super('commit', 'the image was purged while this item was linked to it; retry-pending adds it again', false);
  }
}
const MAX_TRIES_WHEN_REMOVED = 3;
