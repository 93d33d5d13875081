/**
 * The SQL behind `emomo verify` on SQLite, audit side. Nothing is loaded into
 * memory in bulk: the memes snapshot and the object listing go into TEMP
 * tables, every vec0 table's ids are copied into another TEMP table by SQL,
 * and each check (verify-checks.ts) is an anti-join that returns a count plus
 * a few examples. Pages of memes are read by key. Repairs: repair-queries.ts.
 */
import { VERIFY_CHECKS, type AuditResult, type MemeObject, type VerifyCheck, type VerifyTotals } from '../ports.js';
import type { Db } from './database.js';
import { AUDIT_INDEX_TABLE, auditIndexes } from './index-audit.js';
import { queueObjectDeletes } from './object-delete-queries.js';
import { CHECKS, SNAPSHOT_MEMES } from './verify-checks.js';
import { listCollections } from './vector-tables.js';

/** The verify queries on one connection (which must have the claim functions registered, see claims.ts). */
export class SqliteVerifyQueries {
  constructor(private readonly db: Db) {}

  /** Fresh TEMP tables, and the memes snapshot the coming object listing is compared with. */
  begin(): void {
    this.end();
    this.db.exec(`
      CREATE TEMP TABLE audit_memes (id INTEGER PRIMARY KEY, storage_key TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE TEMP TABLE audit_objects (key TEXT PRIMARY KEY) WITHOUT ROWID;
      CREATE TEMP TABLE audit_vec (collection TEXT NOT NULL, meme_id INTEGER NOT NULL,
                                   PRIMARY KEY (collection, meme_id)) WITHOUT ROWID;
      CREATE TEMP TABLE audit_ids (id INTEGER PRIMARY KEY);
      CREATE TEMP TABLE audit_requeue (meme_id INTEGER NOT NULL, collection TEXT NOT NULL,
                                       PRIMARY KEY (meme_id, collection)) WITHOUT ROWID;
      ${AUDIT_INDEX_TABLE};
      INSERT INTO temp.audit_memes (id, storage_key, created_at) SELECT id, storage_key, created_at FROM memes;`);
  }

  end(): void {
    for (const t of ['audit_memes', 'audit_objects', 'audit_vec', 'audit_ids', 'audit_requeue', 'audit_index']) {
      this.db.exec(`DROP TABLE IF EXISTS temp.${t}`);
    }
  }

  addListedObjects(keys: readonly string[]): void {
    const insert = this.db.prepare('INSERT OR IGNORE INTO temp.audit_objects (key) VALUES (?)');
    this.db.transaction(() => {
      for (const key of keys) insert.run(key);
    })();
  }

  /** Every check, the totals and the backfill gaps inside one read transaction, after snapshotting the vec0 ids and auditing the vector indexes. */
  audit(examples: number): AuditResult {
    return this.db.transaction((): AuditResult => {
      copyVectorIds(this.db);
      auditIndexes(this.db);
      const checks = {} as AuditResult['checks'];
      for (const kind of VERIFY_CHECKS) checks[kind] = this.check(kind, examples);
      return { checks, totals: this.totals(), backfill: this.backfillGaps() };
    })();
  }

  /** SQLite's own check of the file: `quick_check` (structure) or `integrity_check` (also indexes and constraints). */
  integrity(thorough: boolean, limit: number): string[] {
    const rows = this.db.pragma(`${thorough ? 'integrity_check' : 'quick_check'}(${Math.max(1, Math.floor(limit))})`, {
      simple: false,
    }) as Array<Record<string, string>>;
    const problems = rows.map((r) => String(Object.values(r)[0]));
    return problems.length === 1 && problems[0] === 'ok' ? [] : problems;
  }

  memesWithoutObject(afterId: number, limit: number): MemeObject[] {
    return this.memePage(
      `SELECT m.id, m.md5, m.storage_key, m.format, m.source_type, m.source_id FROM ${CHECKS.meme_without_object.from}`,
      afterId,
      limit,
    );
  }

  memesWithObject(afterId: number, limit: number): MemeObject[] {
    return this.memePage(
      `SELECT m.id, m.md5, m.storage_key, m.format, m.source_type, m.source_id FROM ${SNAPSHOT_MEMES}
       WHERE EXISTS (SELECT 1 FROM temp.audit_objects o WHERE o.key = m.storage_key)`,
      afterId,
      limit,
    );
  }

  /** Listed objects no meme refers to and no live claim holds become pending deletes, in one transaction. */
  queueOrphanDeletes(): number {
    return this.db
      .transaction(() => queueObjectDeletes(this.db, `SELECT o.key FROM ${CHECKS.object_without_meme.from}`, 'orphan'))
      .immediate();
  }

  // ------------------------------------------------------------ helpers

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

  /** One page (by id) of the memes `select` returns, each with every source that offered it. */
  private memePage(select: string, afterId: number, limit: number): MemeObject[] {
    const rows = this.db.prepare(`SELECT * FROM (${select}) WHERE id > ? ORDER BY id LIMIT ?`).all(afterId, limit) as Array<{
      id: number;
      md5: string;
      storage_key: string;
      format: string;
      source_type: string;
      source_id: string;
    }>;
    const links = this.db.prepare('SELECT source_type, source_id FROM meme_sources WHERE meme_id = ? ORDER BY created_at');
    return rows.map((r) => {
      const sources = [{ sourceType: r.source_type, sourceId: r.source_id }];
      for (const l of links.all(r.id) as Array<{ source_type: string; source_id: string }>) {
        if (!sources.some((s) => s.sourceType === l.source_type && s.sourceId === l.source_id)) {
          sources.push({ sourceType: l.source_type, sourceId: l.source_id });
        }
      }
      return { id: r.id, md5: r.md5, storageKey: r.storage_key, format: r.format, sources };
    });
  }
}

/** Copies every vec0 table's ids into temp.audit_vec (a consistent snapshot inside the caller's transaction). */
export function copyVectorIds(db: Db): void {
  db.exec('DELETE FROM temp.audit_vec');
  for (const c of listCollections(db)) {
    db.prepare(`INSERT INTO temp.audit_vec (collection, meme_id) SELECT ?, meme_id FROM "${c.vec_table}"`).run(c.name);
  }
}
