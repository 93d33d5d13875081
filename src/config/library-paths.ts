/**
 * Where a library may live. Checked once, at the edge: for the config file
 * (problems name its keys) and for a `--db` given on the command line.
 * - `:memory:` would accept a whole ingest, persist nothing, and leave every
 *   stored object an orphan.
 * - Local object storage owns its folder: `verify --repair` deletes what it
 *   does not recognise there, so it must never be `/`, nor the folder that
 *   holds the database, nor one of its parents.
 */
import path from 'node:path';
import type { Problem } from './issues.js';

export interface LibraryPaths {
  /** The SQLite file; undefined when the library is on a database server. */
  databasePath: string | undefined;
  storage: { type: string; path: string };
}

/** Why `dbPath` cannot hold a library, or undefined when it can. */
export function databasePathProblem(dbPath: string): string | undefined {
  const p = dbPath.trim();
  if (p === '') return 'is empty; give a file such as data/emomo.db';
  if (p === ':memory:' || /^file::memory:/i.test(p)) {
    return 'an in-memory database persists nothing (every object stored would be an orphan); give a file such as data/emomo.db';
  }
  return undefined;
}

/** Why the local object folder cannot be used next to the SQLite file `dbPath`, or undefined when it can. */
export function storagePathProblem(storagePath: string, dbPath: string | undefined): string | undefined {
  const objects = path.resolve(storagePath);
  if (objects === path.parse(objects).root) {
    return 'is the root of the file system; give objects a folder of their own such as data/objects';
  }
  if (dbPath === undefined || databasePathProblem(dbPath)) return undefined; // no file, or reported on its own
  const dbFolder = path.dirname(path.resolve(dbPath));
  if (dbFolder === objects || dbFolder.startsWith(objects + path.sep)) {
    return `holds the database (${dbPath}); give objects a folder of their own such as data/objects`;
  }
  return undefined;
}

/** Problems of a config's library paths, keyed as in the config file. */
export function libraryPathProblems(paths: LibraryPaths): Problem[] {
  const problems: Problem[] = [];
  const db = paths.databasePath === undefined ? undefined : databasePathProblem(paths.databasePath);
  if (db) problems.push({ key: 'database.path', problem: db });
  if (paths.storage.type === 'local') {
    const storage = storagePathProblem(paths.storage.path, paths.databasePath);
    if (storage) problems.push({ key: 'storage.path', problem: storage });
  }
  return problems;
}
