/**
 * The SQL behind `emomo purge --source S` on PostgreSQL. A purge holds one
 * connection of its own from `prepare` to `end`: the memes concerned are
 * parked in a temporary table (`shared` = another source also offered the
 * image), counts and deletes are set operations over it, and the row changes
 * are one transaction. Vectors, keyword rows and source links reference their
 * meme, so removing the meme removes them.
 */
import type { PurgeCounts } from '../ports.js';
import type { PgPool } from './connection.js';
import { HeldConnection, inTransaction, type Client } from './sql.js';

const REMOVED = 'SELECT id FROM purge_memes WHERE NOT shared';
const SHARED = 'SELECT id FROM purge_memes WHERE shared';

export class PgPurgeQueries {
  private readonly session: HeldConnection;

  constructor(pool: PgPool) {
    this.session = new HeldConnection(() => pool.connect(), 'preparePurge()', 'DROP TABLE IF EXISTS purge_memes, purge_objects');
  }

  private get client(): Client {
    return this.session.client;
  }

  async prepare(source: string): Promise<void> {
    const c = await this.session.open();
    await c.query(`CREATE TEMP TABLE purge_memes (id bigint PRIMARY KEY, shared boolean NOT NULL);
                   CREATE TEMP TABLE purge_objects (key text PRIMARY KEY)`);
    await c.query(
      `INSERT INTO purge_memes (id, shared)
       SELECT ids.id, EXISTS (SELECT 1 FROM meme_sources s WHERE s.meme_id = ids.id AND s.source_type <> $1)
       FROM (SELECT id FROM memes WHERE source_type = $1 UNION SELECT meme_id FROM meme_sources WHERE source_type = $1) ids
       WHERE EXISTS (SELECT 1 FROM memes m WHERE m.id = ids.id)`,
      [source],
    );
    // Objects only the removed memes use (storage keys are per md5, so in practice all of theirs).
    await c.query(
      `INSERT INTO purge_objects (key)
       SELECT DISTINCT m.storage_key FROM memes m WHERE m.id IN (${REMOVED})
         AND NOT EXISTS (SELECT 1 FROM memes o WHERE o.storage_key = m.storage_key AND o.id NOT IN (${REMOVED}))`,
    );
  }

  end(): Promise<void> {
    return this.session.close();
  }

  async counts(source: string, examples: number): Promise<PurgeCounts> {
    const c = this.client;
    const one = async (sql: string, params: unknown[] = []) => (await c.query<{ n: number }>(`SELECT (${sql}) AS n`, params)).rows[0]!.n;
    const some = async (sql: string, params: unknown[] = []) =>
      (await c.query<{ ex: string }>(`${sql} LIMIT $${params.length + 1}`, [...params, examples])).rows.map((r) => r.ex);
    return {
      source_links: await one('SELECT count(*) FROM meme_sources WHERE source_type = $1', [source]),
      memes_removed: await one(`SELECT count(*) FROM (${REMOVED}) r`),
      memes_kept: await one(`SELECT count(*) FROM (${SHARED}) s`),
      primary_source_moved: await one(`SELECT count(*) FROM memes WHERE source_type = $1 AND id IN (${SHARED})`, [source]),
      vectors: await one(`SELECT count(*) FROM meme_vectors WHERE meme_id IN (${REMOVED})`),
      fts_rows: await one(`SELECT count(*) FROM meme_keywords WHERE meme_id IN (${REMOVED})`),
      descriptions: await one(`SELECT count(*) FROM meme_descriptions WHERE md5 IN (SELECT md5 FROM memes WHERE id IN (${REMOVED}))`),
      objects: await one('SELECT count(*) FROM purge_objects'),
      jobs: await one('SELECT count(*) FROM jobs WHERE source_type = $1', [source]),
      examples: {
        removed: await some(`SELECT md5 || ' (' || source_id || ')' AS ex FROM memes WHERE id IN (${REMOVED}) ORDER BY id`),
        kept: await some(
          `SELECT m.md5 || ' (also from ' || (SELECT s.source_type || ' ' || s.source_id FROM meme_sources s
              WHERE s.meme_id = m.id AND s.source_type <> $1 ORDER BY s.created_at LIMIT 1) || ')' AS ex
           FROM memes m WHERE m.id IN (${SHARED}) ORDER BY m.id`,
          [source],
        ),
      },
    };
  }

  /** Every row change in one transaction: a crash leaves either all of it or none. */
  async apply(source: string): Promise<void> {
    const c = this.client;
    await inTransaction(c, async () => {
      await c.query(`DELETE FROM meme_descriptions WHERE md5 IN (SELECT md5 FROM memes WHERE id IN (${REMOVED}))`);
      await c.query('DELETE FROM meme_sources WHERE source_type = $1', [source]);
      await c.query(`DELETE FROM memes WHERE id IN (${REMOVED})`);
      // A kept meme whose first source was the purged one now names its oldest remaining source.
      await c.query(
        `UPDATE memes m SET (source_type, source_id, source_url) =
           (SELECT s.source_type, s.source_id, s.source_url FROM meme_sources s WHERE s.meme_id = m.id
            ORDER BY s.created_at, s.source_type, s.source_id LIMIT 1), updated_at = now()
         WHERE m.source_type = $1 AND m.id IN (${SHARED})`,
        [source],
      );
      await c.query('DELETE FROM jobs WHERE source_type = $1', [source]);
    });
  }

  async objectKeys(after: string, limit: number): Promise<string[]> {
    const { rows } = await this.client.query<{ key: string }>('SELECT key FROM purge_objects WHERE key > $1 ORDER BY key LIMIT $2', [after, limit]);
    return rows.map((r) => r.key);
  }
}
