/**
 * Ingest's look for a copy already in the library, before a description is
 * paid for:
 * - an image once merged into a meme (or skipped as its duplicate) is that
 *   meme: its source is linked to it and the item is skipped;
 * - with `--skip-duplicates`, an image whose picture a meme already has
 *   (banded lookup, then the distances of pictures/similarity.ts) has its
 *   caption read offline and compared; a duplicate is skipped, naming the
 *   meme kept. A template variant (another caption) goes on as new.
 * Reading the caption costs nothing billable: the offline OCR (which is the
 * describer itself when the configured describer is the local one; its
 * description is then saved and reused by the describe step).
 */
import { hammingDistance, type PictureHashes } from '../images/phash.js';
import type { Describer, Description, ImageFacts, SourceItem } from '../ports.js';
import { foldCaption } from '../pictures/caption.js';
import { compareKeepers } from '../pictures/keeper.js';
import { pictureRelation, SAME_PICTURE_DISTANCE } from '../pictures/similarity.js';
import type { IngestStore, PictureStore } from '../store/ports.js';
import type { ItemOutcome } from './outcome.js';

export interface DuplicateCheckDeps {
  store: Pick<PictureStore, 'pictureCandidates' | 'aliasOf' | 'addAlias'> & Pick<IngestStore, 'linkSource' | 'saveDescription'>;
  /** Reads captions for the comparison; never a paid model. */
  captionReader?: Describer;
  /** The describer of the run: when it is the caption reader, its description is kept. */
  describer: Pick<Describer, 'model' | 'promptVersion'>;
}

export class DuplicateCheck {
  constructor(
    private readonly deps: DuplicateCheckDeps,
    private readonly skipDuplicates: boolean,
  ) {}

  /** A skip outcome when the image is already in the library as another meme, else undefined. */
  async check(item: SourceItem, facts: ImageFacts, hashes: PictureHashes, picture: () => Promise<Buffer>): Promise<ItemOutcome | undefined> {
    const { store } = this.deps;
    const skipped = (memeId: number, why: string): ItemOutcome => ({ kind: 'skipped', sourceId: item.sourceId, md5: facts.md5, reason: `duplicate of meme ${memeId}: ${why}` });
    const alias = await store.aliasOf(facts.md5);
    if (alias !== undefined && (await store.linkSource(item, alias))) return skipped(alias, 'merged into it earlier');
    if (!this.skipDuplicates || !this.deps.captionReader) return undefined;

    const candidates = (await store.pictureCandidates(hashes.picture)).filter(
      (c) => hammingDistance(c.picture, hashes.picture) <= SAME_PICTURE_DISTANCE,
    );
    if (candidates.length === 0) return undefined;
    const description = await this.readCaption(item, facts, await picture());
    const key = { ...hashes, caption: foldCaption(description.ocrText), isAnimated: facts.isAnimated };
    const kept = candidates
      .filter((c) => pictureRelation(key, { ...c, caption: foldCaption(c.caption) }) === 'duplicate')
      .sort(compareKeepers)[0];
    if (!kept) return undefined;
    const reason = `same picture and caption as meme ${kept.id} (ingest --skip-duplicates)`;
    if (!(await store.addAlias(facts.md5, kept.id, reason)) || !(await store.linkSource(item, kept.id))) return undefined;
    return skipped(kept.id, `same picture and caption (${kept.md5})`);
  }

  private async readCaption(item: SourceItem, facts: ImageFacts, jpeg: Buffer): Promise<Description> {
    const reader = this.deps.captionReader!;
    const description = await reader.describe({ frames: [jpeg], category: item.category, tags: item.tags });
    const { describer } = this.deps;
    // Kept for a still only: an animation's description reads several frames, this read the first.
    if (!facts.isAnimated && reader.model === describer.model && reader.promptVersion === describer.promptVersion) {
      await this.deps.store.saveDescription({ md5: facts.md5, vlmModel: reader.model, promptVersion: reader.promptVersion }, description);
    }
    return description;
  }
}
