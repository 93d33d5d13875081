/**
 * The offline image embedder (`provider: local`, `input: image`): each
 * picture's perceptual signature (src/images/signature.ts). No model, no
 * network. It has no text side: its collection is searched with a picture
 * (`recall --image`); a text query there finds nothing by vector and recall
 * uses the keyword side alone.
 */
import { EmomoError } from '../../errors.js';
import { pictureSignature, SIGNATURE_DIMENSIONS } from '../../images/signature.js';
import type { EmbedMode, Embedder } from '../../ports.js';

export const LOCAL_PICTURE_MODEL = 'local-picture-v1';

/** Pictures come in as prepared stills (already size-checked); this is a ceiling, not a policy. */
const MAX_PIXELS = 50_000_000;

export class LocalImageEmbedder implements Embedder {
  readonly input = 'image' as const;
  readonly embedsText = false;
  readonly dimensions = SIGNATURE_DIMENSIONS;

  constructor(readonly model: string = LOCAL_PICTURE_MODEL) {}

  async embed(_texts: string[], _mode: EmbedMode): Promise<Float32Array[]> {
    throw new EmomoError(`${this.model} is an offline picture signature: it has no text side; search its collection with --image`);
  }

  async embedImages(pictures: Buffer[]): Promise<Float32Array[]> {
    return Promise.all(pictures.map((p) => pictureSignature(p, { maxPixels: MAX_PIXELS })));
  }
}
