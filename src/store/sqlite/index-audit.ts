/**
 * verify's check of the partitioned vector index (quantized-index.ts) against
 * each collection's vec0 table, and its repair. Problems go into the TEMP
 * table temp.audit_index of a verify run (one row each, see verify-checks.ts
 * `vector_index_out_of_step`); the vec0 ids come from temp.audit_vec.
 *
 * Repair rebuilds index entries from the stored vectors, never the reverse:
 * an entry without a vector is dropped, a vector missing from the index is
 * indexed again, a list's count is recounted, and an index whose lists
 * deletes have left mostly empty is rebuilt whole. Nothing else changes.
 */
import type { Db } from './database.js';
import { partitionedIndex, rebuildIndex } from './quantized-index.js';
import { blobVector } from './vector-blobs.js';
import { listCollections } from './vector-tables.js';

export const AUDIT_INDEX_TABLE = `CREATE TEMP TABLE audit_index (collection TEXT NOT NULL, meme_id INTEGER, detail TEXT NOT NULL)`;

/** Past this many lists, an index whose lists hold on average less than 1/8 of its list cap has drifted. */
const DRIFT_MIN_LISTS = 8;

const MISSING = 'vector missing from the index';
const STRAY = 'index entry without a vector';
const NO_LIST = 'index entry in a list that does not exist';
const DRIFTED = 'lists left mostly empty by deletes';

/** Fills temp.audit_index from the index tables and temp.audit_vec, inside the caller's transaction. */
export function auditIndexes(db: Db): void {
  db.exec('DELETE FROM temp.audit_index');
  for (const c of listCollections(db)) {
    const index = partitionedIndex(db, c.vec_table);
    if (!index) continue;
    const { ivf, f32, lists } = index.tables;
    const vec = `SELECT 1 FROM temp.audit_vec a WHERE a.collection = $c AND a.meme_id = x.meme_id`;
    const insert = (select: string) => db.prepare(`INSERT INTO temp.audit_index (collection, meme_id, detail) ${select}`).run({ c: c.name });
    insert(
      `SELECT $c, x.meme_id, '${MISSING}' FROM temp.audit_vec x WHERE x.collection = $c
       AND (NOT EXISTS (SELECT 1 FROM "${ivf}" i WHERE i.meme_id = x.meme_id) OR NOT EXISTS (SELECT 1 FROM "${f32}" f WHERE f.meme_id = x.meme_id))`,
    );
    insert(
      `SELECT $c, x.meme_id, '${STRAY}' FROM (SELECT meme_id FROM "${ivf}" UNION SELECT meme_id FROM "${f32}") x WHERE NOT EXISTS (${vec})`,
    );
    insert(
      `SELECT $c, x.meme_id, '${NO_LIST} (' || x.list || ')' FROM "${ivf}" x
       WHERE NOT EXISTS (SELECT 1 FROM "${lists}" l WHERE l.list = x.list) AND EXISTS (${vec})`,
    );
    insert(
      `SELECT $c, NULL, 'list ' || l.list || ' counts ' || l.size || ' vectors but holds ' || ifnull(n.held, 0)
       FROM "${lists}" l LEFT JOIN (SELECT list, count(*) AS held FROM "${ivf}" GROUP BY list) n ON n.list = l.list
       WHERE ifnull(n.held, 0) <> l.size OR l.size = 0`,
    );
    const [listCount, vectors] = db.prepare(`SELECT count(*), ifnull(sum(size), 0) FROM "${lists}"`).raw().get() as [number, number];
    if (listCount > DRIFT_MIN_LISTS && vectors * 8 < listCount * index.listCap()) {
      db.prepare('INSERT INTO temp.audit_index (collection, meme_id, detail) VALUES (?, NULL, ?)').run(
        c.name,
        `${DRIFTED} (${listCount} lists for ${vectors} vectors): rebuild`,
      );
    }
  }
}

/** Repairs what auditIndexes found; returns how many problems were fixed. */
export function repairIndexes(db: Db): number {
  auditIndexes(db);
  let fixed = 0;
  for (const c of listCollections(db)) {
    const problems = db.prepare('SELECT meme_id, detail FROM temp.audit_index WHERE collection = ?').raw().all(c.name) as Array<
      [number | null, string]
    >;
    if (problems.length === 0) continue;
    fixed += problems.length;
    if (problems.some(([, detail]) => detail.startsWith(DRIFTED))) {
      rebuildIndex(db, c.vec_table, c.dims);
      continue;
    }
    const index = partitionedIndex(db, c.vec_table)!;
    const stored = db.prepare(`SELECT embedding, category, is_animated FROM "${c.vec_table}" WHERE meme_id = ?`).raw();
    for (const [memeId, detail] of problems) {
      if (memeId === null) continue;
      if (detail === STRAY) {
        index.remove(memeId);
        continue;
      }
      const row = stored.get(memeId) as [Buffer, string, number] | undefined;
      if (row) index.insert({ memeId, vector: blobVector(row[0]), category: row[1], isAnimated: row[2] === 1 });
    }
    index.recount();
  }
  return fixed;
}
