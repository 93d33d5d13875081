/**
 * The SQL behind `emomo verify --repair` on SQLite. Derived rows (vector
 * rows, vectors, keyword rows, source links) are fixed in one transaction:
 * a keyword row is rebuilt from the description; a vector that is missing or
 * broken is removed so `emomo embed` embeds the meme again, and that meme is
 * counted as re-queued. A meme is never removed for a missing vector. The only
 * meme removal is `removeMemeWithoutObject`, one meme at a time, re-checked in
 * its own transaction. Ids are parked in TEMP tables and paged by key, so
 * memory stays flat whatever the library size.
 */
import { indexTerms } from '../fts-terms.js';
import type { DatabaseRepair, MemeObject, VerifyCheck } from '../ports.js';
import type { Db } from './database.js';
import { repairIndexes } from './index-audit.js';
import { LIVE_CLAIM, CHECKS } from './verify-checks.js';
import { copyVectorIds } from './verify-queries.js';
import { deleteVector, listCollections, type CollectionRow } from './vector-tables.js';

const PAGE = 500;
const DESCRIBED = 'EXISTS (SELECT 1 FROM meme_descriptions d WHERE d.md5 = m.md5)';

/** The repair queries on one connection, inside a verify run (its TEMP tables exist, see verify-queries.ts). */
export class SqliteRepairQueries {
  constructor(private readonly db: Db) {}

  repairDatabase(examples: number): DatabaseRepair {
    return this.db
      .transaction((): DatabaseRepair => {
        copyVectorIds(this.db);
        this.db.exec('DELETE FROM temp.audit_requeue');
        const fixed: Partial<Record<VerifyCheck, number>> = {};
        const colls = new Map(listCollections(this.db).map((c) => [c.name, c]));
        const run = (kind: VerifyCheck, sql: string) => (fixed[kind] = this.db.prepare(sql).run().changes);
        const requeue = (select: string, params: unknown[] = []) =>
          this.db
            .prepare(
              `INSERT OR IGNORE INTO temp.audit_requeue (meme_id, collection)
               SELECT q.meme_id, q.collection FROM (${select}) q
               WHERE EXISTS (SELECT 1 FROM memes m WHERE m.id = q.meme_id) AND q.collection IN (SELECT name FROM collections)`,
            )
            .run(...params);

        run('source_link_without_meme', `DELETE FROM meme_sources WHERE rowid IN (SELECT s.rowid FROM ${CHECKS.source_link_without_meme.from})`);
        run('vector_row_without_meme', `DELETE FROM meme_vectors WHERE id IN (SELECT mv.id FROM ${CHECKS.vector_row_without_meme.from})`);
        requeue(`SELECT mv.meme_id, mv.collection FROM ${CHECKS.vector_dims_mismatch.from}`);
        fixed.vector_dims_mismatch = this.forEachVectorRow(CHECKS.vector_dims_mismatch.from, (row) => {
          const coll = colls.get(row.collection);
          if (coll) this.dropVec(coll, row.meme_id);
        });
        fixed.vec_row_without_vector_row = 0;
        for (const coll of colls.values()) {
          const select = `SELECT a.meme_id FROM ${CHECKS.vec_row_without_vector_row.from} AND a.collection = ?`;
          requeue(`SELECT a.meme_id, a.collection FROM ${CHECKS.vec_row_without_vector_row.from} AND a.collection = ?`, [coll.name]);
          fixed.vec_row_without_vector_row += this.forEachId(select, [coll.name], (id) => this.dropVec(coll, id));
        }
        requeue(`SELECT mv.meme_id, mv.collection FROM ${CHECKS.vector_row_without_vec_row.from}`);
        run('vector_row_without_vec_row', `DELETE FROM meme_vectors WHERE id IN (SELECT mv.id FROM ${CHECKS.vector_row_without_vec_row.from})`);
        // After the vectors above are settled: the index follows what is stored (index-audit.ts).
        fixed.vector_index_out_of_step = repairIndexes(this.db);
        // A meme with no vector anywhere stays (its object and description are the originals); embed fills every collection.
        requeue(`SELECT x.id AS meme_id, c.name AS collection FROM (SELECT m.id FROM ${CHECKS.meme_without_vector.from}) x CROSS JOIN collections c`);
        fixed.meme_without_vector = this.db.prepare(`SELECT count(*) FROM ${CHECKS.meme_without_vector.from} AND ${DESCRIBED}`).pluck().get() as number;
        run('fts_row_without_meme', `DELETE FROM memes_fts WHERE rowid IN (SELECT f.rowid FROM ${CHECKS.fts_row_without_meme.from})`);
        let rebuilt = 0;
        this.forEachId(`SELECT m.id FROM ${CHECKS.meme_without_fts_row.from}`, [], (id) => {
          if (this.rebuildFts(id)) rebuilt++;
        });
        fixed.meme_without_fts_row = rebuilt;
        return { fixed, ...this.requeued(examples) };
      })
      .immediate();
  }

  /** Removes one meme whose object is lost, if it is unchanged and no live claim holds its image. */
  removeMemeWithoutObject(meme: Pick<MemeObject, 'id' | 'md5' | 'storageKey'>): boolean {
    return this.db
      .transaction((): boolean => {
        const still = this.db
          .prepare(`SELECT 1 FROM memes WHERE id = ? AND md5 = ? AND storage_key = ? AND NOT ${LIVE_CLAIM('md5')}`)
          .get(meme.id, meme.md5, meme.storageKey);
        if (!still) return false;
        for (const coll of listCollections(this.db)) deleteVector(this.db, coll, meme.id);
        this.db.prepare('DELETE FROM meme_vectors WHERE meme_id = ?').run(meme.id);
        this.db.prepare('DELETE FROM memes_fts WHERE rowid = ?').run(meme.id);
        this.db.prepare('DELETE FROM meme_sources WHERE meme_id = ?').run(meme.id);
        this.db.prepare('DELETE FROM memes WHERE id = ?').run(meme.id);
        return true;
      })
      .immediate();
  }

  // ------------------------------------------------------------ helpers

  /** Per collection, the re-queued memes `emomo embed` can fill; and those it cannot (no description at all). */
  private requeued(examples: number): Omit<DatabaseRepair, 'fixed'> {
    const waiting = `temp.audit_requeue r JOIN memes m ON m.id = r.meme_id
      WHERE NOT EXISTS (SELECT 1 FROM meme_vectors mv WHERE mv.meme_id = r.meme_id AND mv.collection = r.collection)`;
    const requeued = this.db
      .prepare(`SELECT r.collection, count(*) AS memes FROM ${waiting} AND ${DESCRIBED} GROUP BY r.collection ORDER BY r.collection`)
      .all() as Array<{ collection: string; memes: number }>;
    const undescribed = `memes m WHERE m.id IN (SELECT meme_id FROM temp.audit_requeue) AND NOT ${DESCRIBED}`;
    return {
      requeued,
      undescribed: {
        count: this.db.prepare(`SELECT count(*) FROM ${undescribed}`).pluck().get() as number,
        examples: this.db
          .prepare(`SELECT m.md5 || ' (' || m.source_type || ' ' || m.source_id || ')' FROM ${undescribed} ORDER BY m.id LIMIT ?`)
          .pluck()
          .all(examples) as string[],
      },
    };
  }

  private dropVec(coll: CollectionRow, memeId: number): void {
    deleteVector(this.db, coll, memeId);
    this.db.prepare('DELETE FROM temp.audit_vec WHERE collection = ? AND meme_id = ?').run(coll.name, memeId);
  }

  /** Re-creates a meme's FTS row from the description its newest vector was embedded from (else its newest). */
  private rebuildFts(id: number): boolean {
    const row = this.db
      .prepare(
        `SELECT m.tags, d.ocr_text, d.description FROM memes m
         JOIN meme_descriptions d ON d.md5 = m.md5
         LEFT JOIN meme_vectors mv ON mv.meme_id = m.id AND mv.vlm_model = d.vlm_model AND mv.prompt_version = d.prompt_version
         WHERE m.id = ?
         ORDER BY mv.id IS NULL, mv.created_at DESC, d.created_at DESC, d.rowid DESC LIMIT 1`,
      )
      .get(id) as { tags: string; ocr_text: string; description: string } | undefined;
    if (!row) return false;
    const tags = JSON.parse(row.tags) as string[];
    this.db
      .prepare('INSERT INTO memes_fts (rowid, ocr_text, description, tags) VALUES (?, ?, ?, ?)')
      .run(id, indexTerms(row.ocr_text), indexTerms(row.description), indexTerms(tags.join(' ')));
    return true;
  }

  /**
   * Calls `fn` for every id the query returns. The ids are parked in a TEMP
   * table first (a statement cannot stay open while others write), then read
   * back a page at a time by key.
   */
  private forEachId(select: string, params: unknown[], fn: (id: number) => void): number {
    this.db.exec('DELETE FROM temp.audit_ids');
    this.db.prepare(`INSERT OR IGNORE INTO temp.audit_ids (id) ${select}`).run(...params);
    const page = this.db.prepare('SELECT id FROM temp.audit_ids WHERE id > ? ORDER BY id LIMIT ?').pluck();
    let after = Number.MIN_SAFE_INTEGER;
    let n = 0;
    for (;;) {
      const ids = page.all(after, PAGE) as number[];
      if (ids.length === 0) return n;
      for (const id of ids) fn(id);
      n += ids.length;
      after = ids[ids.length - 1]!;
    }
  }

  /** Deletes the meme_vectors rows matched by `from` (alias mv), calling `fn` for each first. */
  private forEachVectorRow(from: string, fn: (row: { collection: string; meme_id: number }) => void): number {
    return this.forEachId(`SELECT mv.id FROM ${from}`, [], (id) => {
      const row = this.db.prepare('SELECT collection, meme_id FROM meme_vectors WHERE id = ?').get(id) as {
        collection: string;
        meme_id: number;
      };
      fn(row);
      this.db.prepare('DELETE FROM meme_vectors WHERE id = ?').run(id);
    });
  }
}
