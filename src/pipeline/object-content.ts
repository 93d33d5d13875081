/**
 * The object side of a deep verify and of repair: reading every object back
 * to check its bytes against the md5 the meme was stored under, and putting
 * an object back from the original file a source still holds (a lost one, or
 * one whose bytes were overwritten or truncated).
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { errorMessage } from '../errors.js';
import { contentTypeFor } from '../images/format.js';
import type { ImageFormat, ObjectStorage, Originals } from '../ports.js';
import type { MemeObject, VerifyStore } from '../store/ports.js';

const PAGE = 200;
/** Objects read at once by the deep check. */
const READS = 8;

export interface ContentCheck {
  /** Memes whose object's bytes do not hash to their md5. */
  damaged: MemeObject[];
  examples: string[];
  /** Objects that could not be read (not counted as damaged; reported in notes). */
  unreadable: string[];
}

/** Reads every listed object of the snapshot's memes and compares its md5. */
export async function checkObjectContent(
  store: Pick<VerifyStore, 'memesWithObject'>,
  storage: ObjectStorage,
  examples: number,
  onProgress: (done: number) => void,
): Promise<ContentCheck> {
  const result: ContentCheck = { damaged: [], examples: [], unreadable: [] };
  const limit = pLimit(READS);
  let after = 0;
  let done = 0;
  for (;;) {
    const page = await store.memesWithObject(after, PAGE);
    if (page.length === 0) return result;
    await Promise.all(
      page.map((meme) =>
        limit(async () => {
          let bytes: Buffer;
          try {
            bytes = await storage.get(meme.storageKey);
          } catch (err) {
            // Deleted since it was listed (a purge) is not damage.
            if (await storage.exists(meme.storageKey).catch(() => true)) result.unreadable.push(`${meme.storageKey}: ${errorMessage(err)}`);
            return;
          }
          const md5 = createHash('md5').update(bytes).digest('hex');
          if (md5 === meme.md5) return;
          result.damaged.push(meme);
          if (result.examples.length < examples) result.examples.push(`${meme.storageKey} (${bytes.length} bytes, md5 ${md5})`);
        }),
      ),
    );
    done += page.length;
    onProgress(done);
    after = page[page.length - 1]!.id;
  }
}

/**
 * Puts objects back from the original files the memes' sources still hold.
 * `replace` deletes what is stored under the key first (damaged content);
 * without it a key that exists again is left as it is. Returns the ids of the
 * memes whose object was put back.
 */
export async function restoreFromOriginals(
  storage: ObjectStorage,
  originals: Originals | undefined,
  memes: readonly MemeObject[],
  replace: boolean,
): Promise<{ restored: Set<number>; failures: string[] }> {
  const restored = new Set<number>();
  const failures: string[] = [];
  if (!originals || memes.length === 0) return { restored, failures };
  const byMd5 = new Map(memes.map((m) => [m.md5, m]));
  for await (const { md5, bytes } of originals.find(memes.map((m) => ({ md5: m.md5, sources: m.sources })))) {
    const meme = byMd5.get(md5);
    if (!meme) continue;
    try {
      if (replace) await storage.delete(meme.storageKey);
      await storage.put(meme.storageKey, bytes, contentTypeFor(meme.format as ImageFormat));
      restored.add(meme.id);
    } catch (err) {
      failures.push(`${meme.storageKey}: ${errorMessage(err)}`);
    }
  }
  return { restored, failures };
}
