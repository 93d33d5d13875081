/**
 * What both adapters read of a meme for duplicate detection
 * (PictureStore.pictureCandidates / pictureFacts): one SELECT over `memes m`
 * with its newest caption and its source count, and the row as PictureFacts.
 * The columns whose types differ by engine (a flag, a time, a JSON array)
 * are converted by the adapter.
 */
import type { PictureFacts } from './ports.js';

/** `tiebreak` orders descriptions saved at the same instant (the engine's row order: SQLite `rowid`, PostgreSQL `id`). */
export const pictureFactsSelect = (tiebreak: string) =>
  `SELECT m.id, m.md5, m.storage_key, m.width, m.height, m.format, m.is_animated, m.file_size, m.created_at,
          m.tags, m.phash, m.picture_hash, m.picture_colours,
          coalesce((SELECT ocr_text FROM meme_descriptions WHERE md5 = m.md5 ORDER BY created_at DESC, ${tiebreak} DESC LIMIT 1), '') AS caption,
          (SELECT count(*) FROM meme_sources s WHERE s.meme_id = m.id) AS sources
   FROM memes m`;

/** A row of pictureFactsSelect, with the engine-typed columns left to the adapter. */
export interface PictureFactsRow {
  id: number;
  md5: string;
  storage_key: string;
  width: number;
  height: number;
  format: string;
  file_size: number;
  phash: string;
  picture_hash: string;
  picture_colours: string;
  caption: string;
  sources: number;
}

export function toPictureFacts(r: PictureFactsRow, typed: Pick<PictureFacts, 'isAnimated' | 'createdAt' | 'tags'>): PictureFacts {
  return {
    id: r.id,
    md5: r.md5,
    storageKey: r.storage_key,
    width: r.width,
    height: r.height,
    format: r.format,
    fileSize: r.file_size,
    caption: r.caption,
    sources: r.sources,
    phash: r.phash,
    picture: r.picture_hash,
    colours: r.picture_colours,
    ...typed,
  };
}
