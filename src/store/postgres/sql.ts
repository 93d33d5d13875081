/**
 * What every PostgreSQL query module shares, without loading the driver:
 * the query-runner types (type-only imports of `pg`), transactions on a held
 * client, and pgvector's binary vector format.
 */
import type pg from 'pg';

/** Anything that runs a query: the pool, or one client inside a transaction. */
export interface Sql {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}
export type Client = pg.PoolClient;

/** The SQLSTATE of a PostgreSQL error ('' for anything else). */
export function sqlState(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** The advisory-lock class of image locks (two-int keys: apart from run locks' one-bigint keys). */
const IMAGE_LOCK = 0x656d6f6d;

/**
 * Serialises, until the end of the caller's transaction, what decides who
 * may touch an image: a claim, a delete lease, the removal of its meme.
 * Locked in md5 order, so two callers never wait on each other in a circle.
 */
export async function lockImages(sql: Sql, md5s: readonly string[]): Promise<void> {
  const sorted = [...new Set(md5s)].sort();
  if (sorted.length === 0) return;
  await sql.query(`SELECT pg_advisory_xact_lock(${IMAGE_LOCK}, hashtext(md5)) FROM unnest($1::text[]) AS t (md5) ORDER BY md5`, [sorted]);
}

/** Runs `fn` in a transaction on a client already held (a pinned session). */
export async function inTransaction<T>(client: Client, fn: () => Promise<T>, begin = 'BEGIN'): Promise<T> {
  await client.query(begin);
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * The rows of `query` read through a server-side cursor on a held client,
 * `size` rows a page; the cursor is closed when the pages run out or the
 * caller stops early. A plain cursor lives inside the caller's transaction.
 * `hold` declares it WITH HOLD, outside any transaction: its rows are kept by
 * the server (in work_mem, then a temporary file) from the declaring
 * statement's commit, so a long walk holds no transaction, no snapshot and no
 * lock while the caller works between pages, and other transactions may run
 * on the same client meanwhile.
 */
export async function* cursorPages<R extends pg.QueryResultRow>(
  client: Client,
  name: string,
  query: string,
  params: unknown[],
  size: number,
  hold = false,
): AsyncGenerator<R[], void, undefined> {
  await client.query(`DECLARE ${name} NO SCROLL CURSOR ${hold ? 'WITH HOLD ' : ''}FOR ${query}`, params);
  // After a failed FETCH, CLOSE may fail too (an aborted transaction) and hide why: the transaction's end or the held connection's cleanup drops the cursor.
  let open = true;
  try {
    for (;;) {
      const rows = await client.query<R>(`FETCH ${size} FROM ${name}`).then(
        (r) => r.rows,
        (err: unknown) => {
          open = false;
          throw err;
        },
      );
      if (rows.length === 0) return;
      yield rows;
    }
  } finally {
    if (open) await client.query(`CLOSE ${name}`);
  }
}

/** A float32 vector in pgvector's binary wire format: dimension, a reserved zero, then big-endian floats. */
export function vectorParam(vector: Float32Array): Buffer {
  const buf = Buffer.allocUnsafe(4 + 4 * vector.length);
  buf.writeInt16BE(vector.length, 0);
  buf.writeInt16BE(0, 2);
  for (let i = 0; i < vector.length; i++) buf.writeFloatBE(vector[i]!, 4 + 4 * i);
  return buf;
}

/**
 * A connection held across several calls of one run (verify, purge): its
 * temporary tables and cursors live as long as the run. Opening it again
 * starts over on a fresh connection.
 */
export class HeldConnection {
  private held?: Client;

  constructor(
    private readonly connect: () => Promise<Client>,
    private readonly what: string,
    /** Drops what the run created, before the connection goes back to the pool. */
    private readonly cleanup: string,
  ) {}

  get client(): Client {
    if (!this.held) throw new Error(`${this.what} first`);
    return this.held;
  }

  async open(): Promise<Client> {
    await this.close();
    this.held = await this.connect();
    return this.held;
  }

  async close(): Promise<void> {
    const client = this.held;
    this.held = undefined;
    if (!client) return;
    try {
      await client.query(this.cleanup);
      client.release();
    } catch (err) {
      client.release(err instanceof Error ? err : true);
    }
  }
}
