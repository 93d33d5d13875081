/**
 * The SQL behind `emomo verify --repair` on PostgreSQL. Derived rows (vector
 * rows, vectors, keyword rows, source links) are fixed in one transaction on
 * the verify run's connection: a keyword row is rebuilt from the description
 * (read through a server-side cursor, a page at a time, so memory stays flat);
 * a vector that is missing or broken is removed so `emomo embed` embeds the
 * meme again, and that meme is counted as re-queued. A meme is never removed
 * for a missing vector: the only meme removal is `removeMemeWithoutObject`,
 * one meme at a time, re-checked in its own transaction under its image lock.
 */
import type { DatabaseRepair, MemeObject, VerifyCheck } from '../ports.js';
import type { PgPool } from './connection.js';
import { keywordRow, writeKeywordRows } from './ingest-queries.js';
import { cursorPages, inTransaction, lockImages, type Client } from './sql.js';
import { listCollections } from './vector-tables.js';
import { checks, literal, LIVE_CLAIM, relation } from './verify-checks.js';

const PAGE = 500;
const DESCRIBED = 'EXISTS (SELECT 1 FROM meme_descriptions d WHERE d.md5 = m.md5)';

/** Fixes every inconsistency of derived rows in one transaction on `c`, the verify run's connection (its audit tables exist). */
export async function repairDatabase(c: Client, examples: number): Promise<DatabaseRepair> {
  return inTransaction(c, async () => {
    const colls = await listCollections(c);
    const all = checks(colls);
    const fixed: Partial<Record<VerifyCheck, number>> = {};
    const run = async (sql: string) => (await c.query(sql)).rowCount ?? 0;
    const deleteWhere = (kind: VerifyCheck) => run(`DELETE FROM ${all[kind].from} WHERE ${all[kind].where}`);
    // Memes left without a vector in a collection: counted for `emomo embed` (only memes and collections that exist).
    const requeue = (select: string) =>
      run(`INSERT INTO audit_requeue (meme_id, collection) SELECT q.meme_id, q.collection FROM (${select}) q
           WHERE EXISTS (SELECT 1 FROM memes m WHERE m.id = q.meme_id) AND q.collection IN (SELECT name FROM collections)
           ON CONFLICT DO NOTHING`);
    await c.query('DELETE FROM audit_requeue');

    fixed.source_link_without_meme = await deleteWhere('source_link_without_meme');
    fixed.vector_row_without_meme = await deleteWhere('vector_row_without_meme');
    await requeue(`SELECT mv.meme_id, mv.collection FROM ${relation(all.vector_dims_mismatch)}`);
    for (const coll of colls) {
      await run(`DELETE FROM "${coll.vec_table}" a USING meme_vectors mv
                 WHERE mv.collection = ${literal(coll.name)} AND mv.dims <> ${coll.dims} AND a.meme_id = mv.meme_id`);
    }
    fixed.vector_dims_mismatch = await run(
      `DELETE FROM meme_vectors mv WHERE NOT EXISTS (SELECT 1 FROM collections c WHERE c.name = mv.collection AND c.dims = mv.dims)`,
    );
    fixed.vec_row_without_vector_row = 0;
    for (const coll of colls) {
      const orphan = `NOT EXISTS (SELECT 1 FROM meme_vectors mv WHERE mv.meme_id = a.meme_id AND mv.collection = ${literal(coll.name)})`;
      await requeue(`SELECT a.meme_id, ${literal(coll.name)} AS collection FROM "${coll.vec_table}" a WHERE ${orphan}`);
      fixed.vec_row_without_vector_row += await run(`DELETE FROM "${coll.vec_table}" a WHERE ${orphan}`);
    }
    await requeue(`SELECT mv.meme_id, mv.collection FROM ${relation(all.vector_row_without_vec_row)}`);
    fixed.vector_row_without_vec_row = await deleteWhere('vector_row_without_vec_row');
    // A meme with no vector anywhere stays (its object and description are the originals); embed fills every collection.
    await requeue(`SELECT x.id AS meme_id, c.name AS collection FROM (SELECT m.id FROM ${relation(all.meme_without_vector)}) x CROSS JOIN collections c`);
    fixed.meme_without_vector = (await c.query<{ n: number }>(`SELECT count(*) AS n FROM ${relation(all.meme_without_vector)} AND ${DESCRIBED}`)).rows[0]!.n;
    fixed.fts_row_without_meme = await deleteWhere('fts_row_without_meme');
    fixed.meme_without_fts_row = await rebuildKeywords(c);
    return { fixed, ...(await requeued(c, examples)) };
  });
}

/** Removes one meme whose object is lost, if it is unchanged and no live claim holds its image; its description stays. */
export async function removeMemeWithoutObject(pool: PgPool, meme: Pick<MemeObject, 'id' | 'md5' | 'storageKey'>): Promise<boolean> {
  return pool.transaction(async (c) => {
    await lockImages(c, [meme.md5]);
    const { rows } = await c.query(
      `SELECT 1 FROM memes WHERE id = $1 AND md5 = $2 AND storage_key = $3 AND NOT ${LIVE_CLAIM('md5')} FOR UPDATE`,
      [meme.id, meme.md5, meme.storageKey],
    );
    if (rows.length === 0) return false;
    // Vectors, vector rows, the keyword row and source links reference the meme and go with it.
    await c.query('DELETE FROM memes WHERE id = $1', [meme.id]);
    return true;
  });
}

/** Keyword rows rebuilt from the description each meme's newest vector was embedded from (else its newest), a cursor page at a time. */
async function rebuildKeywords(c: Client): Promise<number> {
  const pages = cursorPages<{ id: number; tags: string[]; ocr_text: string; description: string }>(
    c,
    'keyword_rebuild',
    `SELECT m.id, m.tags, d.ocr_text, d.description FROM memes m
     JOIN LATERAL (SELECT d.ocr_text, d.description FROM meme_descriptions d
                   LEFT JOIN meme_vectors mv ON mv.meme_id = m.id AND mv.vlm_model = d.vlm_model AND mv.prompt_version = d.prompt_version
                   WHERE d.md5 = m.md5
                   ORDER BY mv.id IS NULL, mv.created_at DESC, d.created_at DESC, d.id DESC LIMIT 1) d ON true
     WHERE NOT EXISTS (SELECT 1 FROM meme_keywords k WHERE k.meme_id = m.id)`,
    [],
    PAGE,
  );
  let rebuilt = 0;
  for await (const rows of pages) {
    rebuilt += await writeKeywordRows(c, rows.map((r) => keywordRow(r.id, { ocrText: r.ocr_text, description: r.description }, r.tags)));
  }
  return rebuilt;
}

/** Per collection, the re-queued memes `emomo embed` can fill; and those it cannot (no description at all). */
async function requeued(c: Client, examples: number): Promise<Omit<DatabaseRepair, 'fixed'>> {
  const waiting = `audit_requeue r JOIN memes m ON m.id = r.meme_id
    WHERE NOT EXISTS (SELECT 1 FROM meme_vectors mv WHERE mv.meme_id = r.meme_id AND mv.collection = r.collection)`;
  const { rows: perCollection } = await c.query<{ collection: string; memes: number }>(
    `SELECT r.collection, count(*) AS memes FROM ${waiting} AND ${DESCRIBED} GROUP BY r.collection ORDER BY r.collection`,
  );
  const undescribed = `memes m WHERE m.id IN (SELECT meme_id FROM audit_requeue) AND NOT ${DESCRIBED}`;
  const count = (await c.query<{ n: number }>(`SELECT count(*) AS n FROM ${undescribed}`)).rows[0]!.n;
  const { rows } = await c.query<{ ex: string }>(
    `SELECT m.md5 || ' (' || m.source_type || ' ' || m.source_id || ')' AS ex FROM ${undescribed} ORDER BY m.id LIMIT $1`,
    [examples],
  );
  return { requeued: perCollection, undescribed: { count, examples: rows.map((r) => r.ex) } };
}
