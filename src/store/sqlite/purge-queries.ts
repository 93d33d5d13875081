/**
 * The SQL behind `emomo purge --source S` on SQLite. The memes concerned are
 * parked in a TEMP table (`shared` = another source also offered the image);
 * counts for a dry run and the deletes of a real one are set operations over
 * it, so a source of any size is handled without loading it into memory. A
 * real purge decides, counts, deletes and records the objects to delete in
 * one immediate transaction: what it removes is exactly what it counted, and
 * an ingest committing meanwhile is either all before it or all after it.
 */
import type { PurgeCounts } from '../ports.js';
import type { Db } from './database.js';
import { queueObjectDeletes } from './object-delete-queries.js';
import { deleteVector, insertVector, listCollections } from './vector-tables.js';

const PAGE = 500;
const REMOVED = 'SELECT id FROM temp.purge_memes WHERE shared = 0';

/** The purge queries on one connection (synchronous; SqliteStore exposes them through the async port). */
export class SqlitePurgeQueries {
  constructor(private readonly db: Db) {}

  /** What a purge would remove now; changes nothing. */
  counts(source: string, examples: number): PurgeCounts {
    return this.db.transaction(() => {
      this.prepare(source);
      try {
        return this.count(source, examples);
      } finally {
        this.end();
      }
    })();
  }

  /** Every row change, and the objects to delete recorded, in one transaction: a crash leaves all of it or none. */
  apply(source: string, examples: number): PurgeCounts {
    return this.db
      .transaction(() => {
        this.prepare(source);
        try {
          const counts = this.count(source, examples);
          this.remove(source);
          return counts;
        } finally {
          this.end();
        }
      })
      .immediate();
  }

  /** Finds the source's memes and the objects only they use. */
  private prepare(source: string): void {
    this.end();
    this.db.exec(`
      CREATE TEMP TABLE purge_memes (id INTEGER PRIMARY KEY, shared INTEGER NOT NULL);
      CREATE TEMP TABLE purge_objects (key TEXT PRIMARY KEY) WITHOUT ROWID;`);
    this.db
      .prepare(
        `INSERT INTO temp.purge_memes (id, shared)
         SELECT ids.id, EXISTS (SELECT 1 FROM meme_sources s WHERE s.meme_id = ids.id AND s.source_type <> @source)
         FROM (SELECT id FROM memes WHERE source_type = @source
               UNION SELECT meme_id FROM meme_sources WHERE source_type = @source) ids
         WHERE EXISTS (SELECT 1 FROM memes m WHERE m.id = ids.id)`,
      )
      .run({ source });
    // Objects only the removed memes use (storage keys are per md5, so in practice all of theirs).
    this.db.exec(
      `INSERT OR IGNORE INTO temp.purge_objects (key)
       SELECT m.storage_key FROM memes m WHERE m.id IN (${REMOVED})
         AND NOT EXISTS (SELECT 1 FROM memes o WHERE o.storage_key = m.storage_key AND o.id NOT IN (${REMOVED}))`,
    );
  }

  private end(): void {
    this.db.exec('DROP TABLE IF EXISTS temp.purge_memes; DROP TABLE IF EXISTS temp.purge_objects;');
  }

  private count(source: string, examples: number): PurgeCounts {
    const one = (sql: string, ...params: unknown[]) => this.db.prepare(sql).pluck().get(...params) as number;
    const some = (sql: string, ...params: unknown[]) =>
      this.db.prepare(`${sql} LIMIT ?`).pluck().all(...params, examples) as string[];
    return {
      source_links: one('SELECT count(*) FROM meme_sources WHERE source_type = ?', source),
      memes_removed: one(`SELECT count(*) FROM (${REMOVED})`),
      memes_kept: one('SELECT count(*) FROM temp.purge_memes WHERE shared = 1'),
      primary_source_moved: one(
        'SELECT count(*) FROM memes WHERE source_type = ? AND id IN (SELECT id FROM temp.purge_memes WHERE shared = 1)',
        source,
      ),
      vectors: one(`SELECT count(*) FROM meme_vectors WHERE meme_id IN (${REMOVED})`),
      fts_rows: one(`SELECT count(*) FROM memes_fts WHERE rowid IN (${REMOVED})`),
      descriptions: one(`SELECT count(*) FROM meme_descriptions WHERE md5 IN (SELECT md5 FROM memes WHERE id IN (${REMOVED}))`),
      objects: one('SELECT count(*) FROM temp.purge_objects'),
      jobs: one('SELECT count(*) FROM jobs WHERE source_type = ?', source),
      examples: {
        removed: some(`SELECT md5 || ' (' || source_id || ')' FROM memes WHERE id IN (${REMOVED}) ORDER BY id`),
        kept: some(
          `SELECT m.md5 || ' (also from ' || (SELECT s.source_type || ' ' || s.source_id FROM meme_sources s
              WHERE s.meme_id = m.id AND s.source_type <> ? ORDER BY s.created_at LIMIT 1) || ')'
           FROM memes m WHERE m.id IN (SELECT id FROM temp.purge_memes WHERE shared = 1) ORDER BY m.id`,
          source,
        ),
      },
    };
  }

  /** The row changes (inside `apply`'s transaction); the objects become pending deletes (object-delete-queries.ts). */
  private remove(source: string): void {
    const collections = listCollections(this.db);
    for (const coll of collections) this.forEachId(REMOVED, (id) => deleteVector(this.db, coll, id));
    this.db.exec(`DELETE FROM meme_vectors WHERE meme_id IN (${REMOVED})`);
    this.db.exec(`DELETE FROM memes_fts WHERE rowid IN (${REMOVED})`);
    this.db.exec(`DELETE FROM meme_descriptions WHERE md5 IN (SELECT md5 FROM memes WHERE id IN (${REMOVED}))`);
    this.db.prepare('DELETE FROM meme_sources WHERE source_type = ?').run(source);
    this.db.exec(`DELETE FROM meme_sources WHERE meme_id IN (${REMOVED})`);
    this.db.exec(`DELETE FROM memes WHERE id IN (${REMOVED})`);
    this.moveSharedPrimaries(source, collections);
    this.db.prepare('DELETE FROM jobs WHERE source_type = ?').run(source);
    queueObjectDeletes(this.db, 'SELECT key FROM temp.purge_objects', `purge ${source}`);
  }

  /**
   * A kept meme whose first source was the purged one now names its oldest
   * remaining source, and its vectors carry that source as filter metadata
   * (rewritten through the one vector deleter and writer).
   */
  private moveSharedPrimaries(source: string, collections: ReturnType<typeof listCollections>): void {
    const next = this.db.prepare(
      `SELECT source_type, source_id, source_url FROM meme_sources WHERE meme_id = ?
       ORDER BY created_at, source_type, source_id LIMIT 1`,
    );
    const meme = this.db.prepare('SELECT source_type, category, is_animated FROM memes WHERE id = ?');
    const update = this.db.prepare(
      `UPDATE memes SET source_type = ?, source_id = ?, source_url = ?,
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?`,
    );
    const shared = 'SELECT id FROM temp.purge_memes WHERE shared = 1';
    this.forEachId(shared, (id) => {
      const m = meme.get(id) as { source_type: string; category: string; is_animated: number };
      if (m.source_type !== source) return;
      const to = next.get(id) as { source_type: string; source_id: string; source_url: string | null };
      update.run(to.source_type, to.source_id, to.source_url, id);
      for (const coll of collections) {
        const blob = this.db.prepare(`SELECT embedding FROM "${coll.vec_table}" WHERE meme_id = ?`).pluck().get(id) as
          | Buffer
          | undefined;
        if (!blob) continue;
        const vector = new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
        deleteVector(this.db, coll, id);
        insertVector(this.db, coll, id, vector, { category: m.category, isAnimated: m.is_animated === 1, source: to.source_type });
      }
    });
  }

  /** Pages through ids by key (a statement cannot stay open while others write). */
  private forEachId(select: string, fn: (id: number) => void): void {
    const page = this.db.prepare(`SELECT id FROM (${select}) WHERE id > ? ORDER BY id LIMIT ?`).pluck();
    let after = Number.MIN_SAFE_INTEGER;
    for (;;) {
      const ids = page.all(after, PAGE) as number[];
      if (ids.length === 0) return;
      for (const id of ids) fn(id);
      after = ids[ids.length - 1]!;
    }
  }
}
