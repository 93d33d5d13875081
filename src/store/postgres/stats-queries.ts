/** The SQL behind `emomo stats` on PostgreSQL: aggregates only, no row is loaded one by one. */
import type { LibraryCounts, StoreStats } from '../ports.js';
import type { Sql } from './sql.js';

const REASON_WIDTH = 160;

export async function readStats(sql: Sql, topReasons: number): Promise<StoreStats> {
  const all = async <T>(text: string, params: unknown[] = []) => (await sql.query(text, params)).rows as T[];
  const [totals] = await all<{ memes: number; bytes: number }>('SELECT count(*) AS memes, coalesce(sum(file_size), 0) AS bytes FROM memes');
  return {
    // A meme counts under every source that offered it; `memes` in storage counts each image once.
    sources: await all(
      `SELECT s.source_type AS source, count(DISTINCT m.id) AS memes,
              count(*) FILTER (WHERE m.is_animated) AS animated, coalesce(sum(m.file_size), 0) AS bytes
       FROM meme_sources s JOIN memes m ON m.id = s.meme_id
       GROUP BY s.source_type ORDER BY s.source_type`,
    ),
    collections: await all(
      `SELECT c.name AS collection, c.dims, c.model,
              (SELECT count(*) FROM meme_vectors mv WHERE mv.collection = c.name) AS vectors
       FROM collections c ORDER BY c.name`,
    ),
    memes_by_status: await all('SELECT status, count(*) AS count FROM memes GROUP BY status ORDER BY status'),
    jobs_by_status: await all('SELECT status, count(*) AS count FROM jobs GROUP BY status ORDER BY status'),
    top_failure_reasons: await all(
      `SELECT stage, substr(reason, 1, ${REASON_WIDTH}) AS reason, count(*) AS count FROM jobs
       WHERE status IN ('pending', 'failed', 'dead')
       GROUP BY stage, substr(reason, 1, ${REASON_WIDTH}) ORDER BY count DESC, stage, reason LIMIT $1`,
      [topReasons],
    ),
    descriptions_by_model: await all(
      `SELECT vlm_model, prompt_version, count(*) AS count,
              coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(completion_tokens), 0) AS completion_tokens
       FROM meme_descriptions GROUP BY vlm_model, prompt_version ORDER BY vlm_model, prompt_version`,
    ),
    // A description counts as animated when its meme is (or, with no meme row yet, when it read several frames).
    description_costs: await all(
      `SELECT d.vlm_model, d.prompt_version,
              CASE WHEN coalesce(m.is_animated, d.frames > 1, false) THEN 'animated' ELSE 'still' END AS kind,
              count(*) AS count, count(d.frames) AS measured,
              avg(d.frames) AS frames_per_image, avg(d.describe_ms) AS ms_per_image,
              avg(d.prompt_tokens) AS prompt_tokens_per_image
       FROM meme_descriptions d LEFT JOIN memes m ON m.md5 = d.md5
       GROUP BY d.vlm_model, d.prompt_version, kind ORDER BY d.vlm_model, d.prompt_version, kind DESC`,
    ),
    storage: { bytes: totals!.bytes, memes: totals!.memes },
  };
}

/** Rows of each kind (what `emomo migrate` compares between two libraries). */
export async function countLibrary(sql: Sql): Promise<LibraryCounts> {
  const { rows } = await sql.query<LibraryCounts>(
    `SELECT (SELECT count(*) FROM collections) AS collections, (SELECT count(*) FROM memes) AS memes,
            (SELECT count(*) FROM meme_sources) AS source_links, (SELECT count(*) FROM meme_descriptions) AS descriptions,
            (SELECT count(*) FROM meme_vectors) AS vectors, (SELECT count(*) FROM meme_keywords) AS keyword_rows,
            (SELECT count(*) FROM jobs) AS jobs, (SELECT count(*) FROM memes WHERE picture_hash IS NOT NULL) AS picture_hashes,
            (SELECT count(*) FROM meme_aliases) AS aliases, (SELECT count(*) FROM meme_variants) AS variants`,
  );
  return rows[0]!;
}
