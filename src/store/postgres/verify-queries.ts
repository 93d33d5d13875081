/**
 * The SQL behind `emomo verify` on PostgreSQL. A verify run holds one
 * connection of its own: the object listing goes into a temporary table on
 * it in batches, every check is an anti-join answered as a count plus a few
 * examples, all from one REPEATABLE READ snapshot, and repairs are set-based
 * deletes in one transaction. The one repair that needs emomo's own code
 * (rebuilding keyword rows with its segmentation) reads its rows through a
 * server-side cursor a page at a time, so memory stays flat whatever the
 * library size.
 */
import { VERIFY_CHECKS, type AuditResult, type VerifyCheck, type VerifyTotals } from '../ports.js';
import type { PgPool } from './connection.js';
import { keywordRow, writeKeywordRows } from './ingest-queries.js';
import { HeldConnection, inTransaction, type Client } from './sql.js';
import { listCollections, type PgCollection } from './vector-tables.js';

const PAGE = 500;

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** Every collection's vector ids as one relation `(collection, meme_id)`. */
function vecIds(colls: readonly PgCollection[]): string {
  if (colls.length === 0) return '(SELECT NULL::text AS collection, NULL::bigint AS meme_id WHERE false)';
  return `(${colls.map((c) => `SELECT ${literal(c.name)}::text AS collection, meme_id FROM "${c.vec_table}"`).join(' UNION ALL ')})`;
}

/** No vector in its own collection's table (one index probe per collection). */
function missingVecRow(colls: readonly PgCollection[]): string {
  return colls.map((c) => `NOT EXISTS (SELECT 1 FROM "${c.vec_table}" a WHERE mv.collection = ${literal(c.name)} AND a.meme_id = mv.meme_id)`).join(' AND ') || 'true';
}

/** One check: `ex` is the example text; `from` and `where` are shared by count, examples and repair. */
interface CheckSql {
  ex: string;
  from: string;
  where: string;
}

const relation = (check: CheckSql) => `${check.from} WHERE ${check.where}`;

function checks(colls: readonly PgCollection[]): Record<VerifyCheck, CheckSql> {
  return {
    // An object whose image is claimed by a live ingest is in flight (stored, rows not yet committed), not an orphan.
    object_without_meme: {
      ex: 'o.key',
      from: `audit_objects o`,
      where: `NOT EXISTS
               (SELECT 1 FROM memes m WHERE m.md5 = substr(o.key, 4, 32) AND m.storage_key = o.key)
             AND NOT EXISTS (SELECT 1 FROM item_claims c WHERE c.md5 = substr(o.key, 4, 32) AND c.expires_at > now())`,
    },
    meme_without_object: {
      ex: `m.md5 || ' (' || m.source_type || ' ' || m.source_id || ')'`,
      from: `memes m`,
      where: `NOT EXISTS (SELECT 1 FROM audit_objects o WHERE o.key = m.storage_key)`,
    },
    vector_row_without_meme: {
      ex: `mv.collection || ':' || mv.md5`,
      from: `meme_vectors mv`,
      where: `NOT EXISTS (SELECT 1 FROM memes m WHERE m.id = mv.meme_id AND m.md5 = mv.md5)`,
    },
    vec_row_without_vector_row: {
      ex: `a.collection || ':' || a.meme_id`,
      from: `${vecIds(colls)} a`,
      where: `NOT EXISTS
               (SELECT 1 FROM meme_vectors mv WHERE mv.meme_id = a.meme_id AND mv.collection = a.collection)`,
    },
    vector_row_without_vec_row: {
      ex: `mv.collection || ':' || mv.md5`,
      from: `meme_vectors mv`,
      where: `EXISTS (SELECT 1 FROM collections c WHERE c.name = mv.collection) AND ${missingVecRow(colls)}`,
    },
    vector_dims_mismatch: {
      ex: `mv.collection || ':' || mv.md5 || ' (' || mv.dims || ' vs ' || coalesce(c.dims::text, 'no collection') || ')'`,
      from: `meme_vectors mv LEFT JOIN collections c ON c.name = mv.collection`,
      where: `c.name IS NULL OR c.dims <> mv.dims`,
    },
    meme_without_vector: {
      ex: `m.md5 || ' (' || m.source_type || ' ' || m.source_id || ')'`,
      from: `memes m`,
      where: `NOT EXISTS (SELECT 1 FROM meme_vectors mv WHERE mv.meme_id = m.id)`,
    },
    vector_without_description: {
      ex: `mv.collection || ':' || mv.md5 || ' (' || mv.vlm_model || ' ' || mv.prompt_version || ')'`,
      from: `meme_vectors mv`,
      where: `NOT EXISTS (SELECT 1 FROM meme_descriptions d
               WHERE d.md5 = mv.md5 AND d.vlm_model = mv.vlm_model AND d.prompt_version = mv.prompt_version)`,
    },
    fts_row_without_meme: {
      ex: `'meme ' || k.meme_id`,
      from: `meme_keywords k`,
      where: `NOT EXISTS (SELECT 1 FROM memes m WHERE m.id = k.meme_id)`,
    },
    meme_without_fts_row: {
      ex: 'm.md5',
      from: `memes m`,
      where: `NOT EXISTS (SELECT 1 FROM meme_keywords k WHERE k.meme_id = m.id)`,
    },
    source_link_without_meme: {
      ex: `s.source_type || ' ' || s.source_id || ' -> meme ' || s.meme_id`,
      from: `meme_sources s`,
      where: `NOT EXISTS (SELECT 1 FROM memes m WHERE m.id = s.meme_id)`,
    },
  };
}

/** The verify queries of one run, on the connection the run holds from `begin` to `end`. */
export class PgVerifyQueries {
  private readonly session: HeldConnection;

  constructor(pool: PgPool) {
    this.session = new HeldConnection(() => pool.connect(), 'beginVerify()', 'DROP TABLE IF EXISTS audit_objects');
  }

  private get client(): Client {
    return this.session.client;
  }

  async begin(): Promise<void> {
    const c = await this.session.open();
    await c.query('CREATE TEMP TABLE audit_objects (key text PRIMARY KEY)');
  }

  end(): Promise<void> {
    return this.session.close();
  }

  async addListedObjects(keys: readonly string[]): Promise<void> {
    await this.client.query('INSERT INTO audit_objects (key) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [[...keys]]);
  }

  /** Every check, the totals and the backfill gaps from one snapshot. */
  async audit(examples: number): Promise<AuditResult> {
    const c = this.client;
    return inTransaction(
      c,
      async () => {
        const colls = await listCollections(c);
        const all = checks(colls);
        const result = {} as AuditResult['checks'];
        for (const kind of VERIFY_CHECKS) {
          const { ex } = all[kind];
          const from = relation(all[kind]);
          const count = (await c.query<{ n: number }>(`SELECT count(*) AS n FROM ${from}`)).rows[0]!.n;
          const rows = count > 0 && examples > 0 ? (await c.query<{ ex: string }>(`SELECT ${ex} AS ex FROM ${from} LIMIT $1`, [examples])).rows : [];
          result[kind] = { count, examples: rows.map((r) => String(r.ex)) };
        }
        return { checks: result, totals: await this.totals(), backfill: await this.backfillGaps(colls) };
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  }

  private async totals(): Promise<VerifyTotals> {
    const { rows } = await this.client.query<VerifyTotals>(
      `SELECT (SELECT count(*) FROM memes) AS memes, (SELECT count(*) FROM meme_vectors) AS vectors,
              (SELECT count(*) FROM meme_descriptions) AS descriptions, (SELECT count(*) FROM meme_keywords) AS fts_rows,
              (SELECT count(*) FROM audit_objects) AS objects`,
    );
    return rows[0]!;
  }

  private async backfillGaps(colls: readonly PgCollection[]): Promise<Array<{ collection: string; missing: number }>> {
    const gaps: Array<{ collection: string; missing: number }> = [];
    for (const coll of colls) {
      const { rows } = await this.client.query<{ n: number }>(
        `SELECT count(*) AS n FROM memes m
         WHERE EXISTS (SELECT 1 FROM meme_vectors mv WHERE mv.meme_id = m.id)
           AND NOT EXISTS (SELECT 1 FROM meme_vectors mv WHERE mv.meme_id = m.id AND mv.collection = $1)`,
        [coll.name],
      );
      gaps.push({ collection: coll.name, missing: rows[0]!.n });
    }
    return gaps;
  }

  /** Fixes every database-side inconsistency in one transaction (same order as on SQLite). */
  async repairDatabase(options: { removeMemesWithoutObject: boolean }): Promise<Partial<Record<VerifyCheck, number>>> {
    const c = this.client;
    return inTransaction(c, async () => {
      const colls = await listCollections(c);
      const all = checks(colls);
      const fixed: Partial<Record<VerifyCheck, number>> = {};
      const run = async (sql: string) => (await c.query(sql)).rowCount ?? 0;
      const deleteWhere = (kind: VerifyCheck) => run(`DELETE FROM ${all[kind].from} WHERE ${all[kind].where}`);

      fixed.source_link_without_meme = await deleteWhere('source_link_without_meme');
      fixed.vector_row_without_meme = await deleteWhere('vector_row_without_meme');
      for (const coll of colls) {
        await run(`DELETE FROM "${coll.vec_table}" a USING meme_vectors mv
                   WHERE mv.collection = ${literal(coll.name)} AND mv.dims <> ${coll.dims} AND a.meme_id = mv.meme_id`);
      }
      fixed.vector_dims_mismatch = await run(
        `DELETE FROM meme_vectors mv WHERE NOT EXISTS (SELECT 1 FROM collections c WHERE c.name = mv.collection AND c.dims = mv.dims)`,
      );
      fixed.vec_row_without_vector_row = 0;
      for (const coll of colls) {
        fixed.vec_row_without_vector_row += await run(
          `DELETE FROM "${coll.vec_table}" a WHERE NOT EXISTS
             (SELECT 1 FROM meme_vectors mv WHERE mv.meme_id = a.meme_id AND mv.collection = ${literal(coll.name)})`,
        );
      }
      fixed.vector_row_without_vec_row = await deleteWhere('vector_row_without_vec_row');
      // A meme that cannot be served goes with its vectors, keyword row and source links (they reference it); its description stays.
      if (options.removeMemesWithoutObject) fixed.meme_without_object = await deleteWhere('meme_without_object');
      fixed.meme_without_vector = await deleteWhere('meme_without_vector');
      fixed.fts_row_without_meme = await deleteWhere('fts_row_without_meme');
      fixed.meme_without_fts_row = await this.rebuildKeywords(c);
      return fixed;
    });
  }

  /** Keyword rows rebuilt from the description each meme's newest vector was embedded from (else its newest), a cursor page at a time. */
  private async rebuildKeywords(c: Client): Promise<number> {
    await c.query(
      `DECLARE keyword_rebuild NO SCROLL CURSOR FOR
       SELECT m.id, m.tags, d.ocr_text, d.description FROM memes m
       JOIN LATERAL (SELECT d.ocr_text, d.description FROM meme_descriptions d
                     LEFT JOIN meme_vectors mv ON mv.meme_id = m.id AND mv.vlm_model = d.vlm_model AND mv.prompt_version = d.prompt_version
                     WHERE d.md5 = m.md5
                     ORDER BY mv.id IS NULL, mv.created_at DESC, d.created_at DESC, d.id DESC LIMIT 1) d ON true
       WHERE NOT EXISTS (SELECT 1 FROM meme_keywords k WHERE k.meme_id = m.id)`,
    );
    let rebuilt = 0;
    for (;;) {
      const { rows } = await c.query<{ id: number; tags: string[]; ocr_text: string; description: string }>(`FETCH ${PAGE} FROM keyword_rebuild`);
      if (rows.length === 0) break;
      rebuilt += await writeKeywordRows(c, rows.map((r) => keywordRow(r.id, { ocrText: r.ocr_text, description: r.description }, r.tags)));
    }
    await c.query('CLOSE keyword_rebuild');
    return rebuilt;
  }

  /** Listed object keys no meme references and no live claim holds, in key order, a page at a time. */
  async orphanObjects(after: string, limit: number): Promise<string[]> {
    const from = relation(checks([]).object_without_meme);
    const { rows } = await this.client.query<{ key: string }>(`SELECT o.key FROM ${from} AND o.key > $1 ORDER BY o.key LIMIT $2`, [after, limit]);
    return rows.map((r) => r.key);
  }
}
