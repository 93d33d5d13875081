/** The SQL behind `emomo stats` on SQLite: aggregates only, no row is loaded one by one. */
import type { StoreStats } from '../ports.js';
import type { Db } from './database.js';

const REASON_WIDTH = 160;

export class SqliteStatsQueries {
  constructor(private readonly db: Db) {}

  read(topReasons: number): StoreStats {
    const all = <T>(sql: string, ...params: unknown[]) => this.db.prepare(sql).all(...params) as T[];
    const totals = this.db
      .prepare('SELECT count(*) AS memes, ifnull(sum(file_size), 0) AS bytes FROM memes')
      .get() as { memes: number; bytes: number };
    return {
      // A meme counts under every source that offered it; `memes` in storage counts each image once.
      sources: all(
        `SELECT s.source_type AS source, count(DISTINCT m.id) AS memes,
                ifnull(sum(m.is_animated), 0) AS animated, ifnull(sum(m.file_size), 0) AS bytes
         FROM meme_sources s JOIN memes m ON m.id = s.meme_id
         GROUP BY s.source_type ORDER BY s.source_type`,
      ),
      collections: all(
        `SELECT c.name AS collection, c.dims, c.model,
                (SELECT count(*) FROM meme_vectors mv WHERE mv.collection = c.name) AS vectors
         FROM collections c ORDER BY c.name`,
      ),
      memes_by_status: all('SELECT status, count(*) AS count FROM memes GROUP BY status ORDER BY status'),
      jobs_by_status: all('SELECT status, count(*) AS count FROM jobs GROUP BY status ORDER BY status'),
      top_failure_reasons: all(
        `SELECT stage, substr(reason, 1, ${REASON_WIDTH}) AS reason, count(*) AS count FROM jobs
         WHERE status IN ('pending', 'failed', 'dead')
         GROUP BY stage, substr(reason, 1, ${REASON_WIDTH}) ORDER BY count DESC, stage, reason LIMIT ?`,
        topReasons,
      ),
      descriptions_by_model: all(
        `SELECT vlm_model, prompt_version, count(*) AS count,
                coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(completion_tokens), 0) AS completion_tokens
         FROM meme_descriptions
         GROUP BY vlm_model, prompt_version ORDER BY vlm_model, prompt_version`,
      ),
      // A description counts as animated when its meme is (or, with no meme row yet, when it read several frames).
      description_costs: all(
        `SELECT d.vlm_model, d.prompt_version,
                CASE WHEN coalesce(m.is_animated, d.frames > 1, 0) THEN 'animated' ELSE 'still' END AS kind,
                count(*) AS count, count(d.frames) AS measured,
                avg(d.frames) AS frames_per_image, avg(d.describe_ms) AS ms_per_image,
                avg(d.prompt_tokens) AS prompt_tokens_per_image
         FROM meme_descriptions d LEFT JOIN memes m ON m.md5 = d.md5
         GROUP BY d.vlm_model, d.prompt_version, kind ORDER BY d.vlm_model, d.prompt_version, kind DESC`,
      ),
      storage: { bytes: totals.bytes, memes: totals.memes },
    };
  }
}
