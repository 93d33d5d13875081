/**
 * The SQL of every verify check on PostgreSQL, shared by the audit
 * (verify-queries.ts) and the repairs (repair-queries.ts): each is a FROM
 * part and a WHERE part, so a check's count, its examples and its repair
 * select the same rows. Temporary tables of a run (on the connection verify
 * holds): audit_memes (the memes snapshot taken before storage is listed),
 * audit_objects (the listing), audit_requeue (memes a repair left to embed).
 */
import type { VerifyCheck } from '../ports.js';
import { KEY_MD5 } from './object-delete-queries.js';
import type { PgCollection } from './vector-tables.js';

export interface CheckSql {
  /** The example text of a row. */
  ex: string;
  from: string;
  where: string;
}

export const relation = (check: CheckSql) => `${check.from} WHERE ${check.where}`;

export const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** A live claim holds the image of md5 expression `md5`. */
export const LIVE_CLAIM = (md5: string) => `EXISTS (SELECT 1 FROM item_claims c WHERE c.md5 = ${md5} AND c.expires_at > now())`;

/** A meme refers to the object key expression `key` (looked up through the md5 inside the key, which is indexed). */
export const REFERENCED = (key: string) => `EXISTS (SELECT 1 FROM memes m WHERE m.md5 = ${KEY_MD5(key)} AND m.storage_key = ${key})`;

/** Memes of the snapshot that still exist unchanged (alias m): a meme committed, or re-created, after it is not among them. */
export const SNAPSHOT_MEMES = `audit_memes s JOIN memes m ON m.id = s.id AND m.storage_key = s.storage_key AND m.created_at = s.created_at`;

/** Every collection's vector ids as one relation `(collection, meme_id)`. */
function vecIds(colls: readonly PgCollection[]): string {
  if (colls.length === 0) return '(SELECT NULL::text AS collection, NULL::bigint AS meme_id WHERE false)';
  return `(${colls.map((c) => `SELECT ${literal(c.name)}::text AS collection, meme_id FROM "${c.vec_table}"`).join(' UNION ALL ')})`;
}

/** No vector in its own collection's table (one index probe per collection). */
function missingVecRow(colls: readonly PgCollection[]): string {
  return colls.map((c) => `NOT EXISTS (SELECT 1 FROM "${c.vec_table}" a WHERE mv.collection = ${literal(c.name)} AND a.meme_id = mv.meme_id)`).join(' AND ') || 'true';
}

export function checks(colls: readonly PgCollection[]): Record<VerifyCheck, CheckSql> {
  return {
    // An object whose image is claimed by a live ingest is in flight (stored, rows not yet committed), not an orphan.
    object_without_meme: {
      ex: 'o.key',
      from: 'audit_objects o',
      where: `NOT ${REFERENCED('o.key')} AND NOT ${LIVE_CLAIM(KEY_MD5('o.key'))}`,
    },
    meme_without_object: {
      ex: `m.md5 || ' (' || m.source_type || ' ' || m.source_id || ')'`,
      from: SNAPSHOT_MEMES,
      where: 'NOT EXISTS (SELECT 1 FROM audit_objects o WHERE o.key = m.storage_key)',
    },
    // A recorded delete whose object is already gone (a run stopped between the delete and forgetting it).
    pending_object_delete: {
      ex: `p.key || ' (' || p.reason || ')'`,
      from: 'pending_deletes p',
      where: `NOT ${REFERENCED('p.key')} AND NOT EXISTS (SELECT 1 FROM audit_objects o WHERE o.key = p.key)`,
    },
    vector_row_without_meme: {
      ex: `mv.collection || ':' || mv.md5`,
      from: 'meme_vectors mv',
      where: 'NOT EXISTS (SELECT 1 FROM memes m WHERE m.id = mv.meme_id AND m.md5 = mv.md5)',
    },
    vec_row_without_vector_row: {
      ex: `a.collection || ':' || a.meme_id`,
      from: `${vecIds(colls)} a`,
      where: 'NOT EXISTS (SELECT 1 FROM meme_vectors mv WHERE mv.meme_id = a.meme_id AND mv.collection = a.collection)',
    },
    vector_row_without_vec_row: {
      ex: `mv.collection || ':' || mv.md5`,
      from: 'meme_vectors mv',
      where: `EXISTS (SELECT 1 FROM collections c WHERE c.name = mv.collection) AND ${missingVecRow(colls)}`,
    },
    vector_dims_mismatch: {
      ex: `mv.collection || ':' || mv.md5 || ' (' || mv.dims || ' vs ' || coalesce(c.dims::text, 'no collection') || ')'`,
      from: 'meme_vectors mv LEFT JOIN collections c ON c.name = mv.collection',
      where: 'c.name IS NULL OR c.dims <> mv.dims',
    },
    // SQLite's own partitioned index can fall out of step with its vectors; PostgreSQL keeps HNSW in step itself.
    vector_index_out_of_step: { ex: "''", from: '(SELECT) AS none', where: 'false' },
    meme_without_vector: {
      ex: `m.md5 || ' (' || m.source_type || ' ' || m.source_id || ')'`,
      from: 'memes m',
      where: 'NOT EXISTS (SELECT 1 FROM meme_vectors mv WHERE mv.meme_id = m.id)',
    },
    vector_without_description: {
      ex: `mv.collection || ':' || mv.md5 || ' (' || mv.vlm_model || ' ' || mv.prompt_version || ')'`,
      from: 'meme_vectors mv',
      where: `NOT EXISTS (SELECT 1 FROM meme_descriptions d
               WHERE d.md5 = mv.md5 AND d.vlm_model = mv.vlm_model AND d.prompt_version = mv.prompt_version)`,
    },
    fts_row_without_meme: {
      ex: `'meme ' || k.meme_id`,
      from: 'meme_keywords k',
      where: 'NOT EXISTS (SELECT 1 FROM memes m WHERE m.id = k.meme_id)',
    },
    meme_without_fts_row: {
      ex: 'm.md5',
      from: 'memes m',
      where: 'NOT EXISTS (SELECT 1 FROM meme_keywords k WHERE k.meme_id = m.id)',
    },
    source_link_without_meme: {
      ex: `s.source_type || ' ' || s.source_id || ' -> meme ' || s.meme_id`,
      from: 'meme_sources s',
      where: 'NOT EXISTS (SELECT 1 FROM memes m WHERE m.id = s.meme_id)',
    },
  };
}
