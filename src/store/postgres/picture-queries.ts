/**
 * PictureStore on PostgreSQL, for now without perceptual hashes: this
 * backend stores none yet (no `phash` columns, no `picture_bands`,
 * `meme_aliases` or `meme_variants` tables). Reads answer as for a library
 * whose memes have no hashes, which is what it is: recall folds no copies,
 * ingest finds no earlier copy. What would need hashes refuses with a clear
 * message instead of reporting "no duplicates": `emomo dupes` and its
 * merge, and `ingest --skip-duplicates`' aliases. The SQLite adapter
 * (../sqlite/picture-queries.ts) is the reference for the port's contract.
 */
import { UsageError } from '../../errors.js';
import type { LibraryStore } from '../ports.js';

const NOT_YET = 'perceptual hashes (emomo dupes, ingest --skip-duplicates) are not stored on PostgreSQL yet: run them on a SQLite library';
const refuse = (): never => {
  throw new UsageError(NOT_YET);
};

type PictureMethods = Pick<
  LibraryStore,
  'memesWithoutHashes' | 'saveHashes' | 'hashedMemes' | 'pictureCandidates' | 'pictureFacts' | 'mergeDuplicates' | 'linkVariants' | 'aliasOf' | 'addAlias'
>;

export const pgPictureQueries: PictureMethods = {
  memesWithoutHashes: async () => refuse(),
  saveHashes: async () => refuse(),
  hashedMemes: async () => refuse(),
  pictureCandidates: async () => [],
  pictureFacts: async () => [],
  mergeDuplicates: async () => refuse(),
  linkVariants: async () => refuse(),
  aliasOf: async () => undefined,
  addAlias: async () => false,
};
