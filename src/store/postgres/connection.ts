/**
 * The connection pool of a PostgreSQL library: the only module that loads
 * `pg` (postgres-store.ts imports it on first use, so commands that never
 * touch a PostgreSQL library never load the driver). Every connection gets
 * the session settings the recall index needs, counts come back as numbers,
 * and a transaction that loses a deadlock or serialisation race is retried.
 */
import os from 'node:os';
import pg from 'pg';
import { sqlState, type Client } from './sql.js';


export interface PoolOptions {
  /** Connections this process opens at most. */
  size: number;
  /** Session settings (`name=value`) every connection starts with. */
  settings: Record<string, string | number>;
}

/** int8 (count, sum of int) and numeric (sum of bigint) as JS numbers: library sizes stay far below 2^53. */
const NUMERIC_OIDS = new Set([20, 1700]);
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    NUMERIC_OIDS.has(oid) && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** SQLSTATEs a whole transaction may simply be run again after. */
const RETRYABLE = new Set(['40001', '40P01']);
const ATTEMPTS = 4;

export class PgPool {
  readonly pool: pg.Pool;

  constructor(url: string, options: PoolOptions) {
    const settings = Object.entries(options.settings).map(([name, value]) => `-c ${name}=${value}`);
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.size,
      types,
      // Who holds a lock, as `pg_stat_activity` shows it (see run-locks.ts).
      application_name: `emomo ${os.hostname()}/${process.pid}`.slice(0, 63),
      options: settings.join(' '),
      connectionTimeoutMillis: 30_000,
    });
    // An idle connection dropped by the server is replaced on next use; it must not crash the process.
    this.pool.on('error', () => undefined);
  }

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(text, params);
  }

  /** A connection of its own, for work spanning several calls (temporary tables, cursors, session locks). */
  connect(): Promise<Client> {
    return this.pool.connect();
  }

  /** Runs `fn` in one transaction, again from the start when it lost a deadlock or serialisation race. */
  async transaction<T>(fn: (client: Client) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      try {
        await client.query(begin);
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        if (attempt < ATTEMPTS && RETRYABLE.has(sqlState(err))) continue;
        throw err;
      } finally {
        client.release();
      }
    }
  }

  async end(): Promise<void> {
    await this.pool.end();
  }
}
