/** Opens the SQLite file with sqlite-vec loaded and the schema up to date. */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { ConfigError, UsageError } from '../../errors.js';
import { migrate } from './migrations.js';

export type Db = Database.Database;

// Read by better-sqlite3 when it opens its first database: lets a read-only open fall back
// to an `immutable` URI (below). Plain paths are unaffected; only names starting "file:" change meaning.
process.env.SQLITE_USE_URI ??= '1';

export interface OpenOptions {
  /** Open without writing anything (no migration, no WAL switch): works on a read-only mount. */
  readonly?: boolean;
  /** Refuse a missing file instead of creating an empty library. */
  mustExist?: boolean;
}

export function openDatabase(file: string, options: OpenOptions = {}): Db {
  const readonly = options.readonly ?? false;
  if (file !== ':memory:') checkLocation(file, options.mustExist ?? readonly);
  let db: Db | undefined;
  try {
    db = readonly ? openReadonly(file) : new Database(file);
    sqliteVec.load(db);
    // Cron runs overlap: wait for a busy writer instead of failing at once.
    db.pragma('busy_timeout = 15000');
    if (!readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    if (!readonly) migrate(db);
    else db.pragma('schema_version'); // reads the header: a file that is not SQLite fails here, not mid-query
    return db;
  } catch (err) {
    db?.close();
    throw openProblem(file, err);
  }
}

/**
 * A WAL database needs its -shm file even to read. On a read-only mount where
 * none was left behind SQLite cannot create it; the file cannot change there
 * either, so it is opened as immutable.
 */
function openReadonly(file: string): Db {
  const db = new Database(file, { readonly: true });
  try {
    db.pragma('schema_version');
    return db;
  } catch (err) {
    db.close();
    if ((err as { code?: unknown }).code !== 'SQLITE_READONLY_DIRECTORY') throw err;
    return new Database(`file:${encodeURI(path.resolve(file))}?immutable=1`, { readonly: true });
  }
}

function checkLocation(file: string, mustExist: boolean): void {
  const absolute = path.resolve(file);
  const stat = fs.statSync(absolute, { throwIfNoEntry: false });
  if (stat?.isDirectory()) throw new ConfigError(absolute, '', 'is a folder; --db / database.path must name the SQLite file, e.g. data/emomo.db');
  if (!stat && mustExist) {
    throw new UsageError(`no library at ${absolute}; run \`emomo ingest\` first, or point --config / --db at an existing library`);
  }
  if (!stat) fs.mkdirSync(path.dirname(absolute), { recursive: true });
}

/** SQLite's terse errors ("file is not a database") with the path and what to do. */
function openProblem(file: string, err: unknown): unknown {
  const code = (err as { code?: unknown }).code;
  const absolute = path.resolve(file);
  if (code === 'SQLITE_NOTADB') return new ConfigError(absolute, '', 'is not an emomo library (not a SQLite database)');
  if (code === 'SQLITE_CANTOPEN') return new ConfigError(absolute, '', 'cannot be opened (check the path and its permissions)');
  if (typeof code === 'string' && code.startsWith('SQLITE_READONLY')) {
    return new ConfigError(absolute, '', 'is read-only; this command writes to the library (read-only commands: recall, stats, verify, doctor)');
  }
  return err;
}
