/**
 * PictureStore on PostgreSQL (see PictureStore in ../ports.ts; the SQLite
 * adapter, ../sqlite/picture-queries.ts, answers the same contract): hashes
 * as hex text, the picture hash's bytes in `picture_bands` (a band's value is
 * `get_byte(decode(picture_hash, 'hex'), band)`, phashBands in SQL), and the
 * merge of a duplicate group in one transaction that is safe against other
 * machines: it takes the image locks of the group (sql.ts, which claims and
 * object-delete leases take too) and then the meme rows, re-reads every copy
 * under them, and skips one merged or changed meanwhile.
 */
import { ownerGone } from '../claim-owner.js';
import { PHASH_BANDS, type PictureHashes } from '../../images/phash.js';
import { indexTerms } from '../fts-terms.js';
import { copySkipReason, emptyMergeOutcome, foldTags, keeperGone } from '../merge-copy.js';
import { pictureFactsSelect, toPictureFacts, type PictureFactsRow } from '../picture-facts.js';
import type { HashedMeme, MemeToHash, MergeGroup, MergeOutcome, PictureFacts } from '../ports.js';
import type { PgPool } from './connection.js';
import { queueObjectDeletes } from './object-delete-queries.js';
import { lockImages, sqlState, type Sql } from './sql.js';

const FACTS = pictureFactsSelect('id');

interface FactsRow extends PictureFactsRow {
  is_animated: boolean;
  created_at: Date;
  tags: string[];
}

const toFacts = (r: FactsRow): PictureFacts => toPictureFacts(r, { isAnimated: r.is_animated, createdAt: r.created_at.toISOString(), tags: r.tags });

/**
 * Stores hashes, and their bands, of memes that still have that id and md5
 * and no hashes yet, in one statement (inside the caller's transaction when
 * there is one: a commit stores its new meme's hashes so). Returns how many.
 */
export async function saveHashes(sql: Sql, rows: ReadonlyArray<{ id: number; md5: string } & PictureHashes>): Promise<number> {
  if (rows.length === 0) return 0;
  const { rows: saved } = await sql.query<{ n: number }>(
    `WITH saved AS (
       UPDATE memes m SET phash = x.phash, picture_hash = x.picture, picture_colours = x.colours
       FROM jsonb_to_recordset($1::jsonb) AS x (id bigint, md5 text, phash text, picture text, colours text)
       WHERE m.id = x.id AND m.md5 = x.md5 AND m.picture_hash IS NULL
       RETURNING m.id, m.picture_hash),
     bands AS (
       INSERT INTO picture_bands (band, value, meme_id)
       SELECT b, get_byte(decode(saved.picture_hash, 'hex'), b), saved.id FROM saved, generate_series(0, $2::int - 1) AS b
       ON CONFLICT DO NOTHING)
     SELECT count(*) AS n FROM saved`,
    [JSON.stringify(rows.map((r) => ({ id: r.id, md5: r.md5, phash: r.phash, picture: r.picture, colours: r.colours }))), PHASH_BANDS],
  );
  return saved[0]!.n;
}

export async function memesWithoutHashes(sql: Sql, afterId: number, limit: number): Promise<MemeToHash[]> {
  const { rows } = await sql.query<{ id: number; md5: string; storage_key: string }>(
    'SELECT id, md5, storage_key FROM memes WHERE id > $1 AND picture_hash IS NULL ORDER BY id LIMIT $2',
    [afterId, limit],
  );
  return rows.map((r) => ({ id: r.id, md5: r.md5, storageKey: r.storage_key }));
}

export async function hashedMemes(sql: Sql, afterId: number, limit: number): Promise<HashedMeme[]> {
  const { rows } = await sql.query<{ id: number; phash: string; picture_hash: string; picture_colours: string }>(
    'SELECT id, phash, picture_hash, picture_colours FROM memes WHERE id > $1 AND picture_hash IS NOT NULL ORDER BY id LIMIT $2',
    [afterId, limit],
  );
  return rows.map((r) => ({ id: r.id, phash: r.phash, picture: r.picture_hash, colours: r.picture_colours }));
}

/** Memes sharing a band with `picture`: one probe of the bands' primary key per band. */
export async function pictureCandidates(sql: Sql, picture: string): Promise<PictureFacts[]> {
  const { rows } = await sql.query<FactsRow>(
    `${FACTS} WHERE m.id IN (
       SELECT p.meme_id FROM generate_series(0, $2::int - 1) AS b
       JOIN picture_bands p ON p.band = b AND p.value = get_byte(decode($1, 'hex'), b))
     AND m.picture_hash IS NOT NULL ORDER BY m.id`,
    [picture, PHASH_BANDS],
  );
  return rows.map(toFacts);
}

export async function pictureFacts(sql: Sql, ids: readonly number[]): Promise<PictureFacts[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql.query<FactsRow>(`${FACTS} WHERE m.id = ANY($1::bigint[]) AND m.picture_hash IS NOT NULL ORDER BY m.id`, [[...ids]]);
  return rows.map(toFacts);
}

/** The merge of one group, in one transaction on the pool (retried from the start when it loses a deadlock). */
export function mergeDuplicates(pool: PgPool, group: MergeGroup, reason: string): Promise<MergeOutcome> {
  return pool.transaction(async (c) => {
    // The image locks first (what a claim takes), then the rows, both in one order: a concurrent merge,
    // claim, purge or repair of these memes is all before this one or waits for it.
    await lockImages(c, [group.keeper.md5, ...group.copies.map((copy) => copy.md5)]);
    const { rows } = await c.query<{ id: number; md5: string; storage_key: string; tags: string[] }>(
      'SELECT id, md5, storage_key, tags FROM memes WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE',
      [[group.keeper.id, ...group.copies.map((copy) => copy.id)]],
    );
    const now = new Map(rows.map((r) => [r.id, r]));
    const keeper = now.get(group.keeper.id);
    if (!keeper || keeper.md5 !== group.keeper.md5) return keeperGone(group.copies);
    const claims = await c.query<{ md5: string; owner: string }>(
      'SELECT md5, owner FROM item_claims WHERE md5 = ANY($1::text[]) AND expires_at > now()',
      [rows.map((r) => r.md5)],
    );
    const claimed = new Set(claims.rows.filter((r) => !ownerGone(r.owner)).map((r) => r.md5));

    const outcome = { ...emptyMergeOutcome(), keeperFound: true };
    const tags = [...keeper.tags];
    for (const copy of group.copies) {
      const row = now.get(copy.id);
      const skip = copySkipReason(copy, row, keeper.md5, !!row && claimed.has(row.md5));
      if (skip !== undefined) outcome.skipped.push({ ...copy, reason: skip });
      else if (row) {
        foldTags(tags, row.tags, outcome);
        outcome.sourcesMoved += (await c.query('UPDATE meme_sources SET meme_id = $1 WHERE meme_id = $2', [keeper.id, row.id])).rowCount ?? 0;
        await c.query('UPDATE meme_aliases SET meme_id = $1 WHERE meme_id = $2', [keeper.id, row.id]);
        await c.query(
          `INSERT INTO meme_aliases (md5, meme_id, reason) VALUES ($1, $2, $3)
           ON CONFLICT (md5) DO UPDATE SET meme_id = excluded.meme_id, reason = excluded.reason, created_at = now()`,
          [row.md5, keeper.id, reason],
        );
        await c.query('UPDATE meme_variants SET template_id = $1 WHERE template_id = $2 AND meme_id <> $1', [keeper.id, row.id]);
        // Vectors, the keyword row and bands reference the meme and go with it.
        outcome.vectors += (await c.query('DELETE FROM meme_vectors WHERE meme_id = $1', [row.id])).rowCount ?? 0;
        await c.query('DELETE FROM memes WHERE id = $1', [row.id]);
        outcome.objects += await queueObjectDeletes(
          c,
          'SELECT $1::text AS key WHERE NOT EXISTS (SELECT 1 FROM memes WHERE storage_key = $1)',
          reason,
          [row.storage_key],
        );
        outcome.merged.push(copy);
      }
    }
    if (outcome.tagsAdded.length > 0) {
      await c.query('UPDATE memes SET tags = $1::jsonb, updated_at = now() WHERE id = $2', [JSON.stringify(tags), keeper.id]);
      await c.query('UPDATE meme_keywords SET tags = $1 WHERE meme_id = $2', [indexTerms(tags.join(' ')), keeper.id]);
    }
    return outcome;
  });
}

/** One statement: each member (the last group naming it wins) linked to its template when both exist and differ. */
export async function linkVariants(sql: Sql, groups: ReadonlyArray<{ templateId: number; memberIds: readonly number[] }>): Promise<number> {
  const links = new Map<number, number>();
  for (const g of groups) for (const id of g.memberIds) links.set(id, g.templateId);
  if (links.size === 0) return 0;
  const { rowCount } = await sql.query(
    `INSERT INTO meme_variants (meme_id, template_id)
     SELECT m.id, t.id FROM unnest($1::bigint[], $2::bigint[]) AS x (member, template)
     JOIN memes m ON m.id = x.member JOIN memes t ON t.id = x.template WHERE m.id <> t.id
     ON CONFLICT (meme_id) DO UPDATE SET template_id = excluded.template_id, created_at = now()`,
    [[...links.keys()], [...links.values()]],
  );
  return rowCount ?? 0;
}

export async function aliasOf(sql: Sql, md5: string): Promise<number | undefined> {
  const { rows } = await sql.query<{ meme_id: number }>('SELECT meme_id FROM meme_aliases WHERE md5 = $1', [md5]);
  return rows[0]?.meme_id;
}

export async function addAlias(sql: Sql, md5: string, memeId: number, reason: string): Promise<boolean> {
  try {
    const { rowCount } = await sql.query(
      `INSERT INTO meme_aliases (md5, meme_id, reason) SELECT $1, id, $2 FROM memes WHERE id = $3 AND md5 <> $1
       ON CONFLICT (md5) DO UPDATE SET meme_id = excluded.meme_id, reason = excluded.reason`,
      [md5, reason, memeId],
    );
    return (rowCount ?? 0) > 0;
  } catch (err) {
    // The meme was there when the row was written and a merge or purge removed it before the key check.
    if (sqlState(err) === '23503') return false;
    throw err;
  }
}
