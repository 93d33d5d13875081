/** Prepared statements kept per connection by their SQL, for the queries a search runs every time. */
import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';

export class Statements {
  private readonly prepared = new Map<string, Statement>();

  constructor(private readonly db: Db) {}

  /** The statement for `sql`, prepared on first use (a statement's pluck/raw mode stays as its caller set it). */
  get(sql: string): Statement {
    let statement = this.prepared.get(sql);
    if (!statement) this.prepared.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }
}
