/**
 * The SQL behind `emomo verify` on SQLite. Nothing is loaded into memory in
 * bulk: the object listing goes into a TEMP table in batches, every vec0
 * table's ids are copied into another TEMP table by SQL, and each check is an
 * anti-join that returns a count plus a few examples. Repairs page through
 * TEMP tables by key, so memory stays flat whatever the library size.
 */
import { indexTerms } from '../fts-terms.js';
import { VERIFY_CHECKS, type AuditResult, type VerifyCheck, type VerifyTotals } from '../ports.js';
import type { Db } from './database.js';
import { deleteVector, listCollections, type CollectionRow } from './vector-tables.js';

const PAGE = 500;

/** SELECT of one check: `ex` is the example text; the FROM/WHERE part is shared by count and examples. */
const CHECKS: Record<VerifyCheck, { ex: string; from: string }> = {
  // An object whose image is claimed by a live ingest is in flight (stored,
  // rows not yet committed), not an orphan: repair must not delete it.
  object_without_meme: {
    ex: 'o.key',
    from: `temp.audit_objects o WHERE NOT EXISTS
             (SELECT 1 FROM memes m WHERE m.md5 = substr(o.key, 4, 32) AND m.storage_key = o.key)
           AND NOT EXISTS
             (SELECT 1 FROM item_claims c WHERE c.md5 = substr(o.key, 4, 32)
                AND c.expires_at > strftime('%Y-%m-%dT%H:%M:%fZ','now') AND NOT emomo_owner_gone(c.owner))`,
  },
  meme_without_object: {
    ex: `m.md5 || ' (' || m.source_type || ' ' || m.source_id || ')'`,
    from: `memes m WHERE NOT EXISTS (SELECT 1 FROM temp.audit_objects o WHERE o.key = m.storage_key)`,
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

/** The verify queries on one connection (which must have the claim functions registered, see claims.ts). */
export class SqliteVerifyQueries {
  constructor(private readonly db: Db) {}

  begin(): void {
    this.end();
    this.db.exec(`
      CREATE TEMP TABLE audit_objects (key TEXT PRIMARY KEY) WITHOUT ROWID;
      CREATE TEMP TABLE audit_vec (collection TEXT NOT NULL, meme_id INTEGER NOT NULL,
                                   PRIMARY KEY (collection, meme_id)) WITHOUT ROWID;
      CREATE TEMP TABLE audit_ids (id INTEGER PRIMARY KEY);`);
  }

  end(): void {
    this.db.exec('DROP TABLE IF EXISTS temp.audit_objects; DROP TABLE IF EXISTS temp.audit_vec; DROP TABLE IF EXISTS temp.audit_ids;');
  }

  addListedObjects(keys: readonly string[]): void {
    const insert = this.db.prepare('INSERT OR IGNORE INTO temp.audit_objects (key) VALUES (?)');
    this.db.transaction(() => {
      for (const key of keys) insert.run(key);
    })();
  }

  /** Copies every vec0 table's ids (a consistent snapshot together with `check`, see `snapshot`). */
  private copyVectorIds(): void {
    this.db.exec('DELETE FROM temp.audit_vec');
    for (const c of listCollections(this.db)) {
      this.db.prepare(`INSERT INTO temp.audit_vec (collection, meme_id) SELECT ?, meme_id FROM "${c.vec_table}"`).run(c.name);
    }
  }

  /** Every check, the totals and the backfill gaps inside one read transaction, after snapshotting the vec0 ids. */
  audit(examples: number): AuditResult {
    return this.db.transaction((): AuditResult => {
      this.copyVectorIds();
      const checks = {} as AuditResult['checks'];
      for (const kind of VERIFY_CHECKS) checks[kind] = this.check(kind, examples);
      return { checks, totals: this.totals(), backfill: this.backfillGaps() };
    })();
  }

  private check(kind: VerifyCheck, examples: number): { count: number; examples: string[] } {
    const { ex, from } = CHECKS[kind];
    const count = (this.db.prepare(`SELECT count(*) AS n FROM ${from}`).get() as { n: number }).n;
    const rows =
      count > 0 && examples > 0
        ? (this.db.prepare(`SELECT ${ex} AS ex FROM ${from} LIMIT ?`).pluck().all(examples) as string[])
        : [];
    return { count, examples: rows.map(String) };
  }

  private totals(): VerifyTotals {
    const one = (sql: string) => (this.db.prepare(sql).pluck().get() as number) ?? 0;
    return {
      memes: one('SELECT count(*) FROM memes'),
      vectors: one('SELECT count(*) FROM meme_vectors'),
      descriptions: one('SELECT count(*) FROM meme_descriptions'),
      fts_rows: one('SELECT count(*) FROM memes_fts'),
      objects: one('SELECT count(*) FROM temp.audit_objects'),
    };
  }

  /** Per collection: memes with a vector somewhere else but not here (a backfill gap, not an inconsistency). */
  private backfillGaps(): Array<{ collection: string; missing: number }> {
    const stmt = this.db.prepare(
      `SELECT count(*) FROM memes m
       WHERE EXISTS (SELECT 1 FROM meme_vectors mv WHERE mv.meme_id = m.id)
         AND NOT EXISTS (SELECT 1 FROM meme_vectors mv WHERE mv.meme_id = m.id AND mv.collection = ?)`,
    );
    return listCollections(this.db).map((c) => ({ collection: c.name, missing: stmt.pluck().get(c.name) as number }));
  }

  /** Fixes every database-side inconsistency in one transaction; returns how many of each were fixed. */
  repairDatabase(options: { removeMemesWithoutObject: boolean }): Partial<Record<VerifyCheck, number>> {
    return this.db
      .transaction(() => {
        this.copyVectorIds();
        const fixed: Partial<Record<VerifyCheck, number>> = {};
        const colls = new Map(listCollections(this.db).map((c) => [c.name, c]));
        const run = (kind: VerifyCheck, sql: string) => (fixed[kind] = this.db.prepare(sql).run().changes);

        run('source_link_without_meme', `DELETE FROM meme_sources WHERE rowid IN (SELECT s.rowid FROM ${CHECKS.source_link_without_meme.from})`);
        run('vector_row_without_meme', `DELETE FROM meme_vectors WHERE id IN (SELECT mv.id FROM ${CHECKS.vector_row_without_meme.from})`);
        fixed.vector_dims_mismatch = this.forEachVectorRow(CHECKS.vector_dims_mismatch.from, (row) => {
          const coll = colls.get(row.collection);
          if (coll) this.dropVec(coll, row.meme_id);
        });
        fixed.vec_row_without_vector_row = 0;
        for (const coll of colls.values()) {
          fixed.vec_row_without_vector_row += this.forEachId(
            `SELECT a.meme_id FROM ${CHECKS.vec_row_without_vector_row.from} AND a.collection = ?`,
            [coll.name],
            (id) => this.dropVec(coll, id),
          );
        }
        run('vector_row_without_vec_row', `DELETE FROM meme_vectors WHERE id IN (SELECT mv.id FROM ${CHECKS.vector_row_without_vec_row.from})`);
        if (options.removeMemesWithoutObject) {
          fixed.meme_without_object = this.forEachId(`SELECT m.id FROM ${CHECKS.meme_without_object.from}`, [], (id) =>
            this.removeMeme(id, colls),
          );
        }
        fixed.meme_without_vector = this.forEachId(`SELECT m.id FROM ${CHECKS.meme_without_vector.from}`, [], (id) =>
          this.removeMeme(id, colls),
        );
        run('fts_row_without_meme', `DELETE FROM memes_fts WHERE rowid IN (SELECT f.rowid FROM ${CHECKS.fts_row_without_meme.from})`);
        let rebuilt = 0;
        this.forEachId(`SELECT m.id FROM ${CHECKS.meme_without_fts_row.from}`, [], (id) => {
          if (this.rebuildFts(id)) rebuilt++;
        });
        fixed.meme_without_fts_row = rebuilt;
        return fixed;
      })
      .immediate();
  }

  /** Object keys listed by storage that no meme references (after repairs), in key order, a page at a time. */
  orphanObjects(after: string, limit: number): string[] {
    return this.db
      .prepare(`SELECT o.key FROM ${CHECKS.object_without_meme.from} AND o.key > ? ORDER BY o.key LIMIT ?`)
      .pluck()
      .all(after, limit) as string[];
  }

  // ------------------------------------------------------------ helpers

  private dropVec(coll: CollectionRow, memeId: number): void {
    deleteVector(this.db, coll, memeId);
    this.db.prepare('DELETE FROM temp.audit_vec WHERE collection = ? AND meme_id = ?').run(coll.name, memeId);
  }

  /** A meme that cannot be served: its vectors, FTS row, source links and row go; its description stays. */
  private removeMeme(id: number, colls: Map<string, CollectionRow>): void {
    for (const coll of colls.values()) this.dropVec(coll, id);
    this.db.prepare('DELETE FROM meme_vectors WHERE meme_id = ?').run(id);
    this.db.prepare('DELETE FROM memes_fts WHERE rowid = ?').run(id);
    this.db.prepare('DELETE FROM meme_sources WHERE meme_id = ?').run(id);
    this.db.prepare('DELETE FROM memes WHERE id = ?').run(id);
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
