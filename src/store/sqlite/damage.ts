/** SQLite's own words for a damaged file, turned into one clear error that says nothing was changed and what to do. */
import { DamagedLibraryError, errorMessage } from '../../errors.js';

/** True for the codes SQLite uses when the file's contents are not a sound database. */
export function isDamage(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

export function damagedLibrary(file: string, detail: string): DamagedLibraryError {
  return new DamagedLibraryError(
    `${file}: the database file is damaged (${detail}); nothing was changed. ` +
      'Stop every emomo job on it and restore the file from a backup (see "A damaged database" in docs/verify.md)',
  );
}

/** Runs `fn`, reporting SQLite corruption errors as a DamagedLibraryError. */
export function readingDamaged<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isDamage(err)) throw damagedLibrary(file, errorMessage(err));
    throw err;
  }
}
