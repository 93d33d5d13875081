/**
 * The SQL behind `emomo verify` on PostgreSQL, audit side. A verify run holds
 * one connection of its own: the memes snapshot and the object listing go
 * into temporary tables on it, every check (verify-checks.ts) is an
 * anti-join answered as a count plus a few examples, all from one REPEATABLE
 * READ snapshot, and memes are read a page at a time by key, so memory stays
 * flat whatever the library size. Repairs: repair-queries.ts.
 */
import { VERIFY_CHECKS, type AuditResult, type MemeObject, type VerifyTotals } from '../ports.js';
import type { PgPool } from './connection.js';
import { queueObjectDeletes } from './object-delete-queries.js';
import { HeldConnection, inTransaction, type Client } from './sql.js';
import { listCollections, type PgCollection } from './vector-tables.js';
import { checks, relation, SNAPSHOT_MEMES } from './verify-checks.js';

const TEMP_TABLES = ['audit_memes', 'audit_objects', 'audit_requeue'];

interface MemePageRow {
  id: number;
  md5: string;
  storage_key: string;
  format: string;
  source_type: string;
  source_id: string;
  /** Every link, oldest first (null when none). */
  sources: Array<{ t: string; i: string }> | null;
}

/** The verify queries of one run, on the connection the run holds from `begin` to `end`. */
export class PgVerifyQueries {
  private readonly session: HeldConnection;

  constructor(pool: PgPool) {
    this.session = new HeldConnection(() => pool.connect(), 'beginVerify()', `DROP TABLE IF EXISTS ${TEMP_TABLES.join(', ')}`);
  }

  /** The run's connection (its temporary tables live there). */
  get client(): Client {
    return this.session.client;
  }

  /** Fresh temporary tables, and the memes snapshot the coming object listing is compared with. */
  async begin(): Promise<void> {
    const c = await this.session.open();
    await c.query(`
      CREATE TEMP TABLE audit_memes (id bigint PRIMARY KEY, storage_key text NOT NULL, created_at timestamptz NOT NULL);
      CREATE TEMP TABLE audit_objects (key text PRIMARY KEY);
      CREATE TEMP TABLE audit_requeue (meme_id bigint NOT NULL, collection text NOT NULL, PRIMARY KEY (meme_id, collection));
      INSERT INTO audit_memes (id, storage_key, created_at) SELECT id, storage_key, created_at FROM memes;
      ANALYZE audit_memes`);
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
    await c.query('ANALYZE audit_objects');
    return inTransaction(
      c,
      async () => {
        const colls = await listCollections(c);
        const all = checks(colls);
        const result = {} as AuditResult['checks'];
        for (const kind of VERIFY_CHECKS) {
          const from = relation(all[kind]);
          const count = (await c.query<{ n: number }>(`SELECT count(*) AS n FROM ${from}`)).rows[0]!.n;
          const rows = count > 0 && examples > 0 ? (await c.query<{ ex: string }>(`SELECT ${all[kind].ex} AS ex FROM ${from} LIMIT $1`, [examples])).rows : [];
          result[kind] = { count, examples: rows.map((r) => String(r.ex)) };
        }
        return { checks: result, totals: await this.totals(), backfill: await this.backfillGaps(colls) };
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  }

  /**
   * PostgreSQL keeps its own checksums; what emomo can ask for is amcheck's
   * check of every B-tree index of the library (`thorough`: also that every
   * heap row is indexed), when the extension is installed. [] when sound or
   * when amcheck is not there.
   */
  async integrity(thorough: boolean, limit: number): Promise<string[]> {
    const c = this.client;
    const { rows: installed } = await c.query(`SELECT 1 FROM pg_extension WHERE extname = 'amcheck'`);
    if (installed.length === 0) return [];
    const { rows: indexes } = await c.query<{ name: string }>(
      `SELECT quote_ident(i.relname) AS name FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am a ON a.oid = i.relam
       WHERE a.amname = 'btree' AND i.relnamespace = 'public'::regnamespace ORDER BY i.relname`,
    );
    const problems: string[] = [];
    for (const { name } of indexes) {
      if (problems.length >= limit) break;
      await c.query('SELECT bt_index_check($1::regclass, $2)', [name, thorough]).catch((err: unknown) => {
        problems.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      });
    }
    return problems;
  }

  memesWithoutObject(afterId: number, limit: number): Promise<MemeObject[]> {
    return this.memePage(relation(checks([]).meme_without_object), afterId, limit);
  }

  memesWithObject(afterId: number, limit: number): Promise<MemeObject[]> {
    return this.memePage(`${SNAPSHOT_MEMES} WHERE EXISTS (SELECT 1 FROM audit_objects o WHERE o.key = m.storage_key)`, afterId, limit);
  }

  /** Listed objects no meme refers to and no live claim holds become pending deletes, in one statement. */
  async queueOrphanDeletes(): Promise<number> {
    return queueObjectDeletes(this.client, `SELECT o.key FROM ${relation(checks([]).object_without_meme)}`, 'orphan');
  }

  // ------------------------------------------------------------ helpers

  private async totals(): Promise<VerifyTotals> {
    const { rows } = await this.client.query<VerifyTotals>(
      `SELECT (SELECT count(*) FROM memes) AS memes, (SELECT count(*) FROM meme_vectors) AS vectors,
              (SELECT count(*) FROM meme_descriptions) AS descriptions, (SELECT count(*) FROM meme_keywords) AS fts_rows,
              (SELECT count(*) FROM audit_objects) AS objects`,
    );
    return rows[0]!;
  }

  /** Per collection: memes with a vector somewhere else but not here (a backfill gap, not an inconsistency). */
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

  /** One page (by id) of the memes of `relation` (alias m), each with every source that offered it, the first one first. */
  private async memePage(rel: string, afterId: number, limit: number): Promise<MemeObject[]> {
    const { rows } = await this.client.query<MemePageRow>(
      `SELECT m.id, m.md5, m.storage_key, m.format,
              (SELECT json_agg(json_build_object('t', l.source_type, 'i', l.source_id) ORDER BY l.created_at)
               FROM meme_sources l WHERE l.meme_id = m.id) AS sources, m.source_type, m.source_id
       FROM ${rel} AND m.id > $1 ORDER BY m.id LIMIT $2`,
      [afterId, limit],
    );
    return rows.map((r) => {
      const sources = [{ sourceType: r.source_type, sourceId: r.source_id }];
      for (const l of r.sources ?? []) {
        if (!sources.some((s) => s.sourceType === l.t && s.sourceId === l.i)) sources.push({ sourceType: l.t, sourceId: l.i });
      }
      return { id: r.id, md5: r.md5, storageKey: r.storage_key, format: r.format, sources };
    });
  }
}
