/**
 * Perceptual hashes for memes that have none (ingested before hashes
 * existed): each meme's stored object is read and hashed, a page at a time.
 * No provider is called. An object that cannot be read or decoded is
 * counted and named (`emomo verify` reports lost objects); its meme simply
 * stays without hashes, like no other picture.
 */
import pLimit from 'p-limit';
import { errorMessage } from '../errors.js';
import { hashImage, type PictureHashes } from '../images/phash.js';
import type { ImageLimits } from '../images/probe.js';
import type { ObjectStorage } from '../ports.js';
import type { PictureStore } from '../store/ports.js';

const PAGE = 100;
/** Objects read and hashed at once. */
const READS = 4;

export interface HashBackfill {
  hashed: number;
  failed: number;
  failures: string[];
}

export async function backfillHashes(
  store: Pick<PictureStore, 'memesWithoutHashes' | 'saveHashes'>,
  storage: Pick<ObjectStorage, 'get'>,
  opts: { limits: ImageLimits; examples: number; redact: (text: string) => string; signal?: AbortSignal; onProgress?: (done: number) => void },
): Promise<HashBackfill> {
  const result: HashBackfill = { hashed: 0, failed: 0, failures: [] };
  const limit = pLimit(READS);
  let after = 0;
  while (!opts.signal?.aborted) {
    const page = await store.memesWithoutHashes(after, PAGE);
    if (page.length === 0) break;
    after = page[page.length - 1]!.id;
    const rows: Array<{ id: number; md5: string } & PictureHashes> = [];
    await Promise.all(
      page.map((meme) =>
        limit(async () => {
          try {
            rows.push({ id: meme.id, md5: meme.md5, ...(await hashImage(await storage.get(meme.storageKey), opts.limits)) });
          } catch (err) {
            result.failed++;
            if (result.failures.length < opts.examples) result.failures.push(`${meme.storageKey}: ${opts.redact(errorMessage(err))}`);
          }
        }),
      ),
    );
    result.hashed += await store.saveHashes(rows);
    opts.onProgress?.(result.hashed + result.failed);
  }
  return result;
}
