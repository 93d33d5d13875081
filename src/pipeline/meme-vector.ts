/**
 * What a meme is embedded from, in one place for ingest and the `embed`
 * backfill: its description text (embedding-text.ts) in a text collection,
 * its picture in an image collection.
 */
import type { Description, Embedder } from '../ports.js';
import { embeddingText } from './embedding-text.js';

export interface MemeToEmbed {
  description: Description;
  tags: readonly string[];
  /** The first frame as a describer sees it (vlm-input.ts prepareStill); needed by image collections only. */
  picture?: Buffer;
}

export function embedsPictures(embedder: Pick<Embedder, 'input'>): boolean {
  return embedder.input === 'image';
}

/** One vector per meme, in order (the caller checks each). */
export async function embedMemes(embedder: Embedder, memes: readonly MemeToEmbed[], signal?: AbortSignal): Promise<Float32Array[]> {
  if (!embedsPictures(embedder)) return embedder.embed(memes.map((m) => embeddingText(m.description, m.tags)), 'document', signal);
  if (!embedder.embedImages) throw new Error(`embedding model ${embedder.model} is set to embed pictures but has no image side`);
  return embedder.embedImages(
    memes.map((m) => {
      if (!m.picture) throw new Error('an image collection needs the picture of every meme it embeds');
      return m.picture;
    }),
    'document',
    signal,
  );
}
