/**
 * Where the library lives and which adapter serves it: the one place that
 * knows the backends. A SQLite file is the embedded default; a postgres://
 * URL (config `database.url`, env EMOMO_DATABASE_URL, or `--db`) names a
 * PostgreSQL + pgvector library shared by many machines.
 */
import fs from 'node:fs';
import { isPostgresUrl } from '../config/schema.js';
import type { Config } from '../config/types.js';
import { UsageError } from '../errors.js';
import type { LibraryStore, StoreDescription } from './ports.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { migrations } from './sqlite/migrations.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';

export type DatabaseLocation =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string; /** Connections per process (database.pool_size). */ poolSize?: number };

/** `--db` (a file or a postgres:// URL) wins; then `database.url` (or EMOMO_DATABASE_URL); then `database.path`. */
export function databaseLocation(config: Config, db?: string): DatabaseLocation {
  const chosen = db ?? config.database.url;
  if (chosen !== undefined && isPostgresUrl(chosen)) return { kind: 'postgres', url: chosen, poolSize: config.database.poolSize };
  return { kind: 'sqlite', path: db ?? config.database.path };
}

/** The location for logs and reports: a URL loses its password. */
export function databaseLabel(location: DatabaseLocation): string {
  if (location.kind === 'sqlite') return location.path;
  const url = new URL(location.url);
  if (url.password) url.password = '***';
  return url.toString();
}

/** The password inside a database URL, for the redactor. */
export function databaseSecret(location: DatabaseLocation): string | undefined {
  if (location.kind === 'sqlite') return undefined;
  const password = new URL(location.url).password;
  return password ? decodeURIComponent(password) : undefined;
}

/**
 * Picks the adapter and returns the function that opens it on first use (a
 * PostgreSQL store connects, and loads the driver, on its first query). With
 * `mustExist`, a library that does not exist is refused, never created.
 */
export function storeOpener(location: DatabaseLocation, options: SqliteStoreOptions = {}): () => LibraryStore {
  switch (location.kind) {
    case 'sqlite':
      return () => new SqliteStore(location.path, options);
    case 'postgres':
      return () => new PostgresStore(location.url, { label: databaseLabel(location), poolSize: location.poolSize, ...options });
  }
}

/** What `emomo doctor` reports, read without creating or upgrading anything. */
export async function inspectStore(location: DatabaseLocation): Promise<StoreDescription> {
  if (location.kind === 'sqlite' && !fs.existsSync(location.path)) {
    return { location: location.path, exists: false, schemaVersion: 0, latestVersion: migrations.length, memes: 0, collections: [] };
  }
  const store =
    location.kind === 'sqlite'
      ? new SqliteStore(location.path, { readonly: true })
      : new PostgresStore(location.url, { label: databaseLabel(location), readonly: true, poolSize: 1 });
  try {
    return await store.describe();
  } finally {
    await store.close();
  }
}

/**
 * The two ends of `emomo migrate`: the SQLite library to read (it must exist;
 * nothing is created) and the PostgreSQL library to fill.
 */
export function openMigration(from: DatabaseLocation, to: DatabaseLocation): { source: SqliteStore; target: PostgresStore } {
  if (from.kind !== 'sqlite') {
    throw new UsageError(`migrate reads a SQLite library, but ${databaseLabel(from)} is PostgreSQL; name the SQLite file with --db`);
  }
  if (to.kind !== 'postgres') throw new UsageError(`--to ${to.path}: expected a postgres:// URL`);
  if (!fs.existsSync(from.path)) throw new UsageError(`there is no SQLite library at ${from.path} (database.path or --db)`);
  return {
    source: new SqliteStore(from.path),
    target: new PostgresStore(to.url, { label: databaseLabel(to), poolSize: to.poolSize }),
  };
}
