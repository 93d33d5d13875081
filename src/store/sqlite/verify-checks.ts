/**
 * The SQL of every verify check on SQLite, shared by the audit
 * (verify-queries.ts) and the repairs (repair-queries.ts): each is a FROM/WHERE
 * part, so a check's count, its examples and its repair select the same rows.
 * TEMP tables of a run: audit_memes (the memes snapshot taken before storage
 * is listed), audit_objects (the listing), audit_vec (every vec0 table's ids),
 * audit_index (what index-audit.ts found wrong in the partitioned vector indexes).
 */
import type { VerifyCheck } from '../ports.js';
import { DB_NOW } from './claims.js';

/** A live claim by a process that is not gone holds the image of md5 expression `md5`. */
export const LIVE_CLAIM = (md5: string) =>
  `EXISTS (SELECT 1 FROM item_claims c WHERE c.md5 = ${md5} AND c.expires_at > ${DB_NOW} AND NOT emomo_owner_gone(c.owner))`;

/** A meme refers to the object key expression `key` (looked up through the md5 inside the key, which is indexed). */
export const REFERENCED = (key: string) =>
  `EXISTS (SELECT 1 FROM memes m WHERE m.md5 = substr(${key}, 4, 32) AND m.storage_key = ${key})`;

/** Memes of the snapshot that still exist unchanged (alias m): a meme committed, or re-created, after it is not among them. */
export const SNAPSHOT_MEMES = `temp.audit_memes s JOIN memes m ON m.id = s.id AND m.storage_key = s.storage_key AND m.created_at = s.created_at`;

/** SELECT of one check: `ex` is the example text; the FROM/WHERE part is shared by count, examples and repair. */
export const CHECKS: Record<VerifyCheck, { ex: string; from: string }> = {
  // An object whose image is claimed by a live ingest is in flight (stored,
  // rows not yet committed), not an orphan: repair must not delete it.
  object_without_meme: {
    ex: 'o.key',
    from: `temp.audit_objects o WHERE NOT ${REFERENCED('o.key')}
           AND NOT ${LIVE_CLAIM('substr(o.key, 4, 32)')}`,
  },
  meme_without_object: {
    ex: `m.md5 || ' (' || m.source_type || ' ' || m.source_id || ')'`,
    from: `${SNAPSHOT_MEMES} WHERE NOT EXISTS (SELECT 1 FROM temp.audit_objects o WHERE o.key = m.storage_key)`,
  },
  // A recorded delete whose object is already gone (a run stopped between the delete and forgetting it).
  pending_object_delete: {
    ex: `p.key || ' (' || p.reason || ')'`,
    from: `pending_deletes p WHERE NOT ${REFERENCED('p.key')}
           AND NOT EXISTS (SELECT 1 FROM temp.audit_objects o WHERE o.key = p.key)`,
  },
  vector_row_without_meme: {
    ex: `mv.collection || ':' || mv.md5`,
    from: `meme_vectors mv WHERE NOT EXISTS (SELECT 1 FROM memes m WHERE m.id = mv.meme_id AND m.md5 = mv.md5)`,
  },
  vec_row_without_vector_row: {
    ex: `a.collection || ':' || a.meme_id`,
    from: `temp.audit_vec a WHERE NOT EXISTS
             (SELECT 1 FROM meme_vectors mv WHERE mv.meme_id = a.meme_id AND mv.collection = a.collection)`,
  },
  vector_row_without_vec_row: {
    ex: `mv.collection || ':' || mv.md5`,
    from: `meme_vectors mv WHERE EXISTS (SELECT 1 FROM collections c WHERE c.name = mv.collection)
             AND NOT EXISTS (SELECT 1 FROM temp.audit_vec a WHERE a.collection = mv.collection AND a.meme_id = mv.meme_id)`,
  },
  vector_dims_mismatch: {
    ex: `mv.collection || ':' || mv.md5 || ' (' || mv.dims || ' vs ' || ifnull(c.dims, 'no collection') || ')'`,
    from: `meme_vectors mv LEFT JOIN collections c ON c.name = mv.collection WHERE c.name IS NULL OR c.dims <> mv.dims`,
  },
  vector_index_out_of_step: {
    ex: `a.collection || ': ' || ifnull('meme ' || a.meme_id || ', ', '') || a.detail`,
    from: `temp.audit_index a`,
  },
  meme_without_vector: {
    ex: `m.md5 || ' (' || m.source_type || ' ' || m.source_id || ')'`,
    from: `memes m WHERE NOT EXISTS (SELECT 1 FROM meme_vectors mv WHERE mv.meme_id = m.id)`,
  },
  vector_without_description: {
    ex: `mv.collection || ':' || mv.md5 || ' (' || mv.vlm_model || ' ' || mv.prompt_version || ')'`,
    from: `meme_vectors mv WHERE NOT EXISTS (SELECT 1 FROM meme_descriptions d
             WHERE d.md5 = mv.md5 AND d.vlm_model = mv.vlm_model AND d.prompt_version = mv.prompt_version)`,
  },
  fts_row_without_meme: {
    ex: `'rowid ' || f.rowid`,
    from: `memes_fts f WHERE NOT EXISTS (SELECT 1 FROM memes m WHERE m.id = f.rowid)`,
  },
  meme_without_fts_row: {
    ex: 'm.md5',
    from: `memes m WHERE NOT EXISTS (SELECT 1 FROM memes_fts f WHERE f.rowid = m.id)`,
  },
  source_link_without_meme: {
    ex: `s.source_type || ' ' || s.source_id || ' -> meme ' || s.meme_id`,
    from: `meme_sources s WHERE NOT EXISTS (SELECT 1 FROM memes m WHERE m.id = s.meme_id)`,
  },
};
