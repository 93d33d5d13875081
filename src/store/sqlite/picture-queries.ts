/**
 * PictureStore on SQLite: perceptual hashes and their band index, the facts
 * duplicate detection needs, and the merge of a duplicate group in one
 * immediate transaction (see PictureStore in ../ports.ts).
 */
import { ownerGone } from '../claim-owner.js';
import { phashBands, type PictureHashes } from '../../images/phash.js';
import { indexTerms } from '../fts-terms.js';
import { copySkipReason, emptyMergeOutcome, foldTags, keeperGone } from '../merge-copy.js';
import { pictureFactsSelect, toPictureFacts, type PictureFactsRow } from '../picture-facts.js';
import type { HashedMeme, MemeToHash, MergeGroup, MergeOutcome, PictureFacts } from '../ports.js';
import { DB_NOW } from './claims.js';
import type { Db } from './database.js';
import { queueObjectDeletes } from './object-delete-queries.js';
import { deleteVector, listCollections } from './vector-tables.js';

const FACTS = pictureFactsSelect('rowid');
const CHUNK = 500;

interface FactsRow extends PictureFactsRow {
  is_animated: number;
  created_at: string;
  tags: string;
}

const toFacts = (r: FactsRow): PictureFacts =>
  toPictureFacts(r, { isAnimated: r.is_animated === 1, createdAt: r.created_at, tags: JSON.parse(r.tags) as string[] });

/** Writes a meme's hashes and their bands (inside the caller's transaction). */
export function writeHashes(db: Db, memeId: number, hashes: PictureHashes): void {
  db.prepare('UPDATE memes SET phash = ?, picture_hash = ?, picture_colours = ? WHERE id = ?').run(hashes.phash, hashes.picture, hashes.colours, memeId);
  db.prepare('DELETE FROM picture_bands WHERE meme_id = ?').run(memeId);
  const band = db.prepare('INSERT OR IGNORE INTO picture_bands (band, value, meme_id) VALUES (?, ?, ?)');
  phashBands(hashes.picture).forEach((value, i) => band.run(i, value, memeId));
}

/** The picture queries on one connection (synchronous; SqliteStore exposes them through the async port). */
export class SqlitePictureQueries {
  constructor(private readonly db: Db) {}

  memesWithoutHashes(afterId: number, limit: number): MemeToHash[] {
    return (
      this.db
        .prepare('SELECT id, md5, storage_key FROM memes WHERE id > ? AND picture_hash IS NULL ORDER BY id LIMIT ?')
        .all(afterId, limit) as Array<{ id: number; md5: string; storage_key: string }>
    ).map((r) => ({ id: r.id, md5: r.md5, storageKey: r.storage_key }));
  }

  saveHashes(rows: ReadonlyArray<{ id: number; md5: string } & PictureHashes>): number {
    const current = this.db.prepare('SELECT 1 FROM memes WHERE id = ? AND md5 = ? AND picture_hash IS NULL').pluck();
    return this.db
      .transaction(() => {
        let saved = 0;
        for (const row of rows) {
          if (!current.get(row.id, row.md5)) continue;
          writeHashes(this.db, row.id, row);
          saved++;
        }
        return saved;
      })
      .immediate();
  }

  hashedMemes(afterId: number, limit: number): HashedMeme[] {
    // Rows as arrays: dupes reads every meme's hashes, and named rows cost more than the query.
    return (
      this.db
        .prepare('SELECT id, phash, picture_hash, picture_colours FROM memes WHERE id > ? AND picture_hash IS NOT NULL ORDER BY id LIMIT ?')
        .raw()
        .all(afterId, limit) as Array<[number, string, string, string]>
    ).map(([id, phash, picture, colours]) => ({ id, phash, picture, colours }));
  }

  pictureCandidates(picture: string): PictureFacts[] {
    const bands = phashBands(picture);
    const matches = bands.map(() => '(band = ? AND value = ?)').join(' OR ');
    const rows = this.db
      .prepare(`${FACTS} WHERE m.id IN (SELECT meme_id FROM picture_bands WHERE ${matches}) AND m.picture_hash IS NOT NULL`)
      .all(...bands.flatMap((value, band) => [band, value])) as FactsRow[];
    return rows.map(toFacts);
  }

  pictureFacts(ids: readonly number[]): PictureFacts[] {
    const query = this.db.prepare(`${FACTS} WHERE m.id IN (SELECT value FROM json_each(?)) AND m.picture_hash IS NOT NULL ORDER BY m.id`);
    const out: PictureFacts[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      out.push(...(query.all(JSON.stringify(ids.slice(i, i + CHUNK))) as FactsRow[]).map(toFacts));
    }
    return out;
  }

  mergeDuplicates(group: MergeGroup, reason: string): MergeOutcome {
    const db = this.db;
    const memeRow = db.prepare('SELECT id, md5, storage_key, tags FROM memes WHERE id = ?');
    const claimers = db.prepare(`SELECT owner FROM item_claims WHERE md5 = ? AND expires_at > ${DB_NOW}`).pluck();
    return db
      .transaction((): MergeOutcome => {
        const keeper = memeRow.get(group.keeper.id) as { id: number; md5: string; tags: string } | undefined;
        if (!keeper || keeper.md5 !== group.keeper.md5) return keeperGone(group.copies);
        const outcome = { ...emptyMergeOutcome(), keeperFound: true };
        const tags = JSON.parse(keeper.tags) as string[];
        const collections = listCollections(db);
        for (const copy of group.copies) {
          const row = memeRow.get(copy.id) as { id: number; md5: string; storage_key: string; tags: string } | undefined;
          const claimed = !!row && (claimers.all(row.md5) as string[]).some((o) => !ownerGone(o));
          const skip = copySkipReason(copy, row, keeper.md5, claimed);
          if (skip !== undefined) outcome.skipped.push({ ...copy, reason: skip });
          else if (row) {
            foldTags(tags, JSON.parse(row.tags) as string[], outcome);
            outcome.sourcesMoved += db.prepare('UPDATE meme_sources SET meme_id = ? WHERE meme_id = ?').run(keeper.id, row.id).changes;
            db.prepare('UPDATE meme_aliases SET meme_id = ? WHERE meme_id = ?').run(keeper.id, row.id);
            db.prepare('INSERT OR REPLACE INTO meme_aliases (md5, meme_id, reason) VALUES (?, ?, ?)').run(row.md5, keeper.id, reason);
            db.prepare('UPDATE meme_variants SET template_id = ? WHERE template_id = ? AND meme_id <> ?').run(keeper.id, row.id, keeper.id);
            for (const coll of collections) deleteVector(db, coll, row.id);
            outcome.vectors += db.prepare('DELETE FROM meme_vectors WHERE meme_id = ?').run(row.id).changes;
            db.prepare('DELETE FROM memes_fts WHERE rowid = ?').run(row.id);
            db.prepare('DELETE FROM memes WHERE id = ?').run(row.id);
            outcome.objects += queueObjectDeletes(
              db,
              'SELECT ? AS key WHERE NOT EXISTS (SELECT 1 FROM memes WHERE storage_key = ?)',
              reason,
              [row.storage_key, row.storage_key],
            );
            outcome.merged.push(copy);
          }
        }
        if (outcome.tagsAdded.length > 0) {
          db.prepare(`UPDATE memes SET tags = ?, updated_at = ${DB_NOW} WHERE id = ?`).run(JSON.stringify(tags), keeper.id);
          db.prepare('UPDATE memes_fts SET tags = ? WHERE rowid = ?').run(indexTerms(tags.join(' ')), keeper.id);
        }
        return outcome;
      })
      .immediate();
  }

  linkVariants(groups: ReadonlyArray<{ templateId: number; memberIds: readonly number[] }>): number {
    const link = this.db.prepare(
      `INSERT INTO meme_variants (meme_id, template_id)
       SELECT m.id, t.id FROM memes m, memes t WHERE m.id = ? AND t.id = ? AND m.id <> t.id
       ON CONFLICT (meme_id) DO UPDATE SET template_id = excluded.template_id, created_at = ${DB_NOW}`,
    );
    return this.db
      .transaction(() => {
        let written = 0;
        for (const g of groups) for (const id of g.memberIds) written += link.run(id, g.templateId).changes;
        return written;
      })
      .immediate();
  }

  aliasOf(md5: string): number | undefined {
    return this.db.prepare('SELECT meme_id FROM meme_aliases WHERE md5 = ?').pluck().get(md5) as number | undefined;
  }

  addAlias(md5: string, memeId: number, reason: string): boolean {
    const run = this.db
      .prepare(
        `INSERT INTO meme_aliases (md5, meme_id, reason) SELECT ?, id, ? FROM memes WHERE id = ? AND md5 <> ?
         ON CONFLICT (md5) DO UPDATE SET meme_id = excluded.meme_id, reason = excluded.reason`,
      )
      .run(md5, reason, memeId, md5);
    return run.changes > 0;
  }
}
