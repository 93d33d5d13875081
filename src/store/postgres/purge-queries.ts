/**
 * The SQL behind `emomo purge --source S` on PostgreSQL, one transaction
 * each: the memes concerned are parked in a temporary table (`shared` =
 * another source also offered the image), counts and deletes are set
 * operations over it. A real purge first locks the source's memes, so an
 * ingest linking or committing one of them meanwhile is either all before the
 * purge (and counted) or waits for it; then it counts, removes the rows
 * (vectors, keyword rows and source links reference their meme and go with
 * it) and records the objects to delete in the object-delete queue.
 */
import type { PurgeCounts } from '../ports.js';
import type { PgPool } from './connection.js';
import { queueObjectDeletes } from './object-delete-queries.js';
import type { Client } from './sql.js';

const REMOVED = 'SELECT id FROM purge_memes WHERE NOT shared';
const SHARED = 'SELECT id FROM purge_memes WHERE shared';
/** Memes (alias `m`) the source $1 offered: first seen there, or linked to it since. */
const OF_SOURCE = 'm.source_type = $1 OR m.id IN (SELECT meme_id FROM meme_sources WHERE source_type = $1)';

/** What a purge of the source would remove now; changes nothing. */
export function purgeCounts(pool: PgPool, source: string, examples: number): Promise<PurgeCounts> {
  return pool.transaction(async (c) => {
    await prepare(c, source);
    return count(c, source, examples);
  }, 'BEGIN ISOLATION LEVEL REPEATABLE READ');
}

/** Every row change, and the objects to delete recorded, in one transaction: a crash leaves all of it or none. */
export function applyPurge(pool: PgPool, source: string, examples: number): Promise<PurgeCounts> {
  return pool.transaction(async (c) => {
    await c.query(`SELECT 1 FROM memes m WHERE ${OF_SOURCE} ORDER BY m.id FOR UPDATE`, [source]);
    await prepare(c, source);
    const counts = await count(c, source, examples);
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
    await queueObjectDeletes(c, 'SELECT key FROM purge_objects', `purge ${source}`);
    return counts;
  });
}

/** The source's memes and the objects only they use, in temporary tables dropped with the transaction. */
async function prepare(c: Client, source: string): Promise<void> {
  await c.query(`CREATE TEMP TABLE purge_memes (id bigint PRIMARY KEY, shared boolean NOT NULL) ON COMMIT DROP;
                 CREATE TEMP TABLE purge_objects (key text PRIMARY KEY) ON COMMIT DROP`);
  await c.query(
    `INSERT INTO purge_memes (id, shared)
     SELECT m.id, EXISTS (SELECT 1 FROM meme_sources s WHERE s.meme_id = m.id AND s.source_type <> $1)
     FROM memes m WHERE ${OF_SOURCE}`,
    [source],
  );
  // Objects only the removed memes use (storage keys are per md5, so in practice all of theirs).
  await c.query(
    `INSERT INTO purge_objects (key)
     SELECT DISTINCT m.storage_key FROM memes m WHERE m.id IN (${REMOVED})
       AND NOT EXISTS (SELECT 1 FROM memes o WHERE o.storage_key = m.storage_key AND o.id NOT IN (${REMOVED}))`,
  );
}

async function count(c: Client, source: string, examples: number): Promise<PurgeCounts> {
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
