/**
 * SQL behind `emomo redescribe` on PostgreSQL: memes whose vector in a
 * collection was made from a description other than the describer's current
 * one, and the one transaction that moves a meme's vector and keyword row to
 * its new description.
 */
import type { DescriptionChange, StaleFilter, StaleMeme } from '../ports.js';
import { keywordRow, writeKeywordRows } from './ingest-queries.js';
import type { Sql } from './sql.js';
import { checkDims, upsertVector, type PgCollection } from './vector-tables.js';

/** Parameters $1..$4: collection, current model, current prompt version, animated only. */
const STALE = `FROM memes m JOIN meme_vectors v ON v.md5 = m.md5 AND v.collection = $1
  WHERE (v.vlm_model <> $2 OR v.prompt_version <> $3) AND (NOT $4 OR m.is_animated)`;
const DESCRIBED = `EXISTS (SELECT 1 FROM meme_descriptions d WHERE d.md5 = m.md5 AND d.vlm_model = $2 AND d.prompt_version = $3)`;

const params = (f: StaleFilter) => [f.collection, f.current.vlmModel, f.current.promptVersion, f.animatedOnly];

export async function countStale(sql: Sql, filter: StaleFilter): Promise<{ memes: number; toDescribe: number }> {
  const { rows } = await sql.query<{ memes: number; toDescribe: number }>(
    `SELECT count(*) AS memes, count(*) FILTER (WHERE NOT ${DESCRIBED}) AS "toDescribe" ${STALE}`,
    params(filter),
  );
  return rows[0]!;
}

export async function findStale(sql: Sql, filter: StaleFilter, afterId: number, limit: number): Promise<StaleMeme[]> {
  const { rows } = await sql.query<{ id: number; md5: string; storage_key: string; category: string; tags: string[]; described: boolean }>(
    `SELECT m.id, m.md5, m.storage_key, m.category, m.tags, ${DESCRIBED} AS described
     ${STALE} AND m.id > $5 ORDER BY m.id LIMIT $6`,
    [...params(filter), afterId, limit],
  );
  return rows.map((r) => ({ memeId: r.id, md5: r.md5, storageKey: r.storage_key, category: r.category, tags: r.tags, described: r.described }));
}

/** The body of one transaction; false (nothing written) when the meme has no vector in the collection any more. */
export async function replaceDescription(sql: Sql, coll: PgCollection, change: DescriptionChange): Promise<boolean> {
  checkDims(coll, change.vector);
  const { rows } = await sql.query<{ tags: string[] }>('SELECT tags FROM memes WHERE id = $1 AND md5 = $2 FOR SHARE', [change.memeId, change.md5]);
  if (rows.length === 0) return false;
  const moved = await sql.query(
    `UPDATE meme_vectors SET model = $1, vlm_model = $2, prompt_version = $3, created_at = now() WHERE md5 = $4 AND collection = $5`,
    [change.embeddingModel, change.descriptionKey.vlmModel, change.descriptionKey.promptVersion, change.md5, coll.name],
  );
  if ((moved.rowCount ?? 0) === 0) return false;
  await upsertVector(sql, coll, change.memeId, change.vector);
  await writeKeywordRows(sql, [keywordRow(change.memeId, change.description, rows[0]!.tags)]);
  return true;
}
