/**
 * One item through the pipeline: read → md5 → dedup on (md5, collection) →
 * reuse the image's object and description or create them → embed → commit
 * rows and vector in one transaction. What the item created is undone in
 * reverse order when a later stage fails; what it reused is never touched.
 * A paid description is kept either way (it is a cache keyed by md5 + model).
 */
import fs from 'node:fs/promises';
import { AbortedError, ItemError, errorMessage, isPermanent, type Stage } from '../errors.js';
import { contentTypeFor } from '../images/format.js';
import { probeImage, type ImageLimits } from '../images/probe.js';
import { prepareVlmInput } from '../images/vlm-input.js';
import type { Describer, Description, Embedder, ObjectStorage, SourceItem } from '../ports.js';
import type { Redactor } from '../redact.js';
import { objectKey } from '../storage/object-key.js';
import type { DescriptionKey, Store } from '../store/store.js';
import { embeddingText } from './embedding-text.js';
import { scheduleAfterFailure, type FailurePolicy } from './failure-policy.js';
import { KeyedLock } from './keyed-lock.js';
import type { ItemOutcome } from './outcome.js';
import { checkVector } from './vector-check.js';

export interface ItemDeps {
  store: Store;
  storage: ObjectStorage;
  describer: Describer;
  embedder: Embedder;
  redact: Redactor;
  now: () => Date;
}

export interface ItemOptions {
  collection: string;
  limits: ImageLimits;
  /** Images whose shorter side is below this are skipped (0 = no minimum). */
  minSide: number;
  maxSide: number;
  force: boolean;
  dryRun: boolean;
  failurePolicy: FailurePolicy;
}

type Undo = () => Promise<void>;

export class ItemProcessor {
  private readonly locks = new KeyedLock();

  constructor(
    private readonly deps: ItemDeps,
    private readonly opts: ItemOptions,
  ) {}

  async process(item: SourceItem): Promise<ItemOutcome> {
    const undo: Undo[] = [];
    const at: { stage: Stage } = { stage: 'read' };
    try {
      return await this.run(item, at, undo);
    } catch (err) {
      for (const step of undo.reverse()) await step().catch(() => undefined);
      // A run-level stop (provider circuit open) is not this item's fault: it is
      // undone but not recorded, and the error ends the run.
      if (err instanceof AbortedError) throw err;
      return this.fail(item, err instanceof ItemError ? err.stage : at.stage, err);
    }
  }

  /** Records a failure found before or during processing and returns its outcome. */
  fail(item: Pick<SourceItem, 'sourceType' | 'sourceId'> & { path?: string }, stage: Stage, err: unknown): ItemOutcome {
    const reason = this.deps.redact(errorMessage(err)).slice(0, 2000);
    const permanent = isPermanent(err);
    if (!this.opts.dryRun) {
      this.deps.store.recordFailure(
        { sourceType: item.sourceType, sourceId: item.sourceId, collection: this.opts.collection, path: item.path, stage, reason, permanent },
        (attempt) => scheduleAfterFailure(attempt, permanent, this.opts.failurePolicy, this.deps.now()),
      );
    }
    return { kind: 'failed', sourceId: item.sourceId, stage, reason, permanent };
  }

  private async run(item: SourceItem, at: { stage: Stage }, undo: Undo[]): Promise<ItemOutcome> {
    const { store, storage, describer, embedder } = this.deps;
    const { collection, force } = this.opts;
    const bytes = await readImage(item.path);
    at.stage = 'decode';
    const facts = await probeImage(bytes, this.opts.limits);
    const { md5 } = facts;
    if (this.opts.minSide > 0 && Math.min(facts.width, facts.height) < this.opts.minSide) {
      return { kind: 'skipped', sourceId: item.sourceId, md5, reason: `smaller than ${this.opts.minSide} px` };
    }

    return this.locks.run(md5, async () => {
      const existing = store.findMemeByMd5(md5);
      if (!force && store.hasVector(md5, collection)) {
        if (existing && !this.opts.dryRun) store.linkSource(item, existing.id);
        return { kind: 'skipped', sourceId: item.sourceId, md5, reason: 'already in collection' };
      }
      const kind = existing ? 'reused' : 'added';
      if (this.opts.dryRun) return { kind, sourceId: item.sourceId, md5 };

      at.stage = 'describe';
      const wanted: DescriptionKey = { md5, vlmModel: describer.model, promptVersion: describer.promptVersion };
      let described: { key: DescriptionKey; description: Description } | undefined;
      const exact = store.findDescription(wanted);
      if (exact) described = { key: wanted, description: exact };
      else if (existing && !force) described = store.findLatestDescription(md5);
      if (!described) {
        at.stage = 'decode';
        const jpeg = await prepareVlmInput(bytes, facts, this.opts.limits, this.opts.maxSide);
        at.stage = 'describe';
        const description = await describer.describe({ jpeg, category: item.category, tags: item.tags });
        store.saveDescription(wanted, description);
        described = { key: wanted, description };
      }

      at.stage = 'store';
      const storageKey = existing?.storageKey ?? objectKey(md5, facts.ext);
      if (!existing) {
        const { created } = await storage.put(storageKey, bytes, contentTypeFor(facts.format));
        if (created) {
          undo.push(async () => {
            // Another process may have committed a meme on this object meanwhile.
            if (!store.isStorageKeyReferenced(storageKey)) await storage.delete(storageKey);
          });
        }
      }

      at.stage = 'embed';
      const tags = existing?.tags ?? item.tags;
      const [vector] = await embedder.embed([embeddingText(described.description, tags)], 'document');
      checkVector(vector, embedder.dimensions, embedder.model);

      at.stage = 'commit';
      store.commitItem({
        item,
        facts,
        storageKey,
        description: described.description,
        descriptionKey: described.key,
        collection,
        embeddingModel: embedder.model,
        vector: vector!,
        replace: force,
      });
      return { kind, sourceId: item.sourceId, md5 };
    });
  }
}

async function readImage(path: string): Promise<Buffer> {
  try {
    return await fs.readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ItemError('read', `file not found: ${path}`, false);
    if (code === 'EISDIR') throw new ItemError('read', `not a file: ${path}`, true);
    throw new ItemError('read', `cannot read ${path}: ${errorMessage(err)}`, false, { cause: err });
  }
}
