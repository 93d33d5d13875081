/**
 * The SQL behind `emomo verify` on PostgreSQL, audit side. A verify run holds
 * one connection of its own: the memes snapshot and the object listing go
 * into temporary tables on it, every check (verify-checks.ts) is an
 * anti-join answered as a count plus a few examples, all from one REPEATABLE
 * READ snapshot, and the memes a run walks through (the deep content check,
 * lost objects) are read from a server-side cursor a page at a time, so
 * memory stays flat whatever the library size. Repairs: repair-queries.ts.
 */
import { VERIFY_CHECKS, type AuditResult, type MemeObject, type VerifyTotals } from '../ports.js';
import type { PgPool } from './connection.js';
import { queueObjectDeletes } from './object-delete-queries.js';
import { cursorPages, HeldConnection, inTransaction, type Client } from './sql.js';
import { listCollections, type PgCollection } from './vector-tables.js';
import { checks, relation, SNAPSHOT_MEMES } from './verify-checks.js';

const TEMP_TABLES = ['audit_memes', 'audit_objects', 'audit_requeue'];
/** Drops what a run left on its connection (cursors a walk left open too) before the connection goes back to the pool. */
const CLEANUP = `CLOSE ALL; DROP TABLE IF EXISTS ${TEMP_TABLES.join(', ')}`;

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
  private readonly withoutObject: MemeWalk;
  private readonly withObject: MemeWalk;

  constructor(private readonly pool: PgPool) {
    this.session = new HeldConnection(() => pool.connect(), 'beginVerify()', CLEANUP);
    this.withoutObject = new MemeWalk(() => this.client, 'verify_memes_without_object', relation(checks([]).meme_without_object));
    this.withObject = new MemeWalk(
      () => this.client,
      'verify_memes_with_object',
      `${SNAPSHOT_MEMES} WHERE EXISTS (SELECT 1 FROM audit_objects o WHERE o.key = m.storage_key)`,
    );
  }

  /** The run's connection (its temporary tables live there). */
  get client(): Client {
    return this.session.client;
  }

  /** Fresh temporary tables, and the memes snapshot the coming object listing is compared with. */
  async begin(): Promise<void> {
    this.forgetWalks();
    const c = await this.session.open();
    await c.query(`
      CREATE TEMP TABLE audit_memes (id bigint PRIMARY KEY, storage_key text NOT NULL, created_at timestamptz NOT NULL);
      CREATE TEMP TABLE audit_objects (key text PRIMARY KEY);
      CREATE TEMP TABLE audit_requeue (meme_id bigint NOT NULL, collection text NOT NULL, PRIMARY KEY (meme_id, collection));
      INSERT INTO audit_memes (id, storage_key, created_at) SELECT id, storage_key, created_at FROM memes;
      ANALYZE audit_memes`);
  }

  end(): Promise<void> {
    this.forgetWalks();
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
   * when amcheck is not there. Runs before the run's connection is taken.
   */
  async integrity(thorough: boolean, limit: number): Promise<string[]> {
    const c = this.pool;
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
    return this.withoutObject.page(afterId, limit);
  }

  memesWithObject(afterId: number, limit: number): Promise<MemeObject[]> {
    return this.withObject.page(afterId, limit);
  }

  /** Listed objects no meme refers to and no live claim holds become pending deletes, in one statement. */
  async queueOrphanDeletes(): Promise<number> {
    return queueObjectDeletes(this.client, `SELECT o.key FROM ${relation(checks([]).object_without_meme)}`, 'orphan');
  }

  // ------------------------------------------------------------ helpers

  /** The connection's cleanup closes every cursor: a walk left open is only forgotten. */
  private forgetWalks(): void {
    this.withoutObject.forget();
    this.withObject.forget();
  }

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
}

/**
 * The memes of one relation (alias m) by id, each with every source that
 * offered it, the first one first: read through one holdable cursor (see
 * `cursorPages`) while the caller asks for the page after the last one it
 * got, with the same page size; any other request starts a new cursor after
 * the id it names.
 */
class MemeWalk {
  private pages?: AsyncGenerator<MemePageRow[], void, undefined>;
  /** The `afterId` and `limit` that continue the open cursor. */
  private next = { afterId: -1, limit: 0 };

  constructor(
    private readonly client: () => Client,
    private readonly name: string,
    private readonly rel: string,
  ) {}

  async page(afterId: number, limit: number): Promise<MemeObject[]> {
    if (!this.pages || afterId !== this.next.afterId || limit !== this.next.limit) {
      await this.pages?.return();
      this.pages = cursorPages<MemePageRow>(
        this.client(),
        this.name,
        `SELECT m.id, m.md5, m.storage_key, m.format,
                (SELECT json_agg(json_build_object('t', l.source_type, 'i', l.source_id) ORDER BY l.created_at)
                 FROM meme_sources l WHERE l.meme_id = m.id) AS sources, m.source_type, m.source_id
         FROM ${this.rel} AND m.id > $1 ORDER BY m.id`,
        [afterId],
        limit,
        true,
      );
    }
    const { value: rows, done } = await this.pages.next();
    if (done) {
      this.pages = undefined;
      return [];
    }
    this.next = { afterId: rows[rows.length - 1]!.id, limit };
    return rows.map(memeObject);
  }

  forget(): void {
    this.pages = undefined;
  }
}

function memeObject(r: MemePageRow): MemeObject {
  const sources = [{ sourceType: r.source_type, sourceId: r.source_id }];
  for (const l of r.sources ?? []) {
    if (!sources.some((s) => s.sourceType === l.t && s.sourceId === l.i)) sources.push({ sourceType: l.t, sourceId: l.i });
  }
  return { id: r.id, md5: r.md5, storageKey: r.storage_key, format: r.format, sources };
}
