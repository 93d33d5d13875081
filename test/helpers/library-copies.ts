/**
 * One library on every backend without ingesting it twice: a SQLite
 * workspace's library copied (by `emomo migrate`, see store-backends.ts) to
 * each backend that can run here, with a workspace whose config points at the
 * copy. SQLite's "copy" is the workspace's own file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { usePostgres } from './postgres.js';
import { STORE_BACKENDS, type LibraryCopy } from './store-backends.js';
import type { Workspace } from './workspace.js';

export interface BackendLibraries {
  /** The workspace pointing at a backend's copy (by StoreBackend name). */
  get(backend: string): Workspace;
  cleanup(): Promise<void>;
}

export async function copyToEveryBackend(ws: Workspace): Promise<BackendLibraries> {
  const copies = new Map<string, { ws: Workspace; copy: LibraryCopy }>();
  for (const backend of STORE_BACKENDS.filter((b) => !b.unavailable)) {
    const copy = await backend.copyOf(ws.db);
    const config = path.join(ws.dir, `${backend.name}.yaml`);
    fs.copyFileSync(ws.config, config);
    if (copy.db !== ws.db) usePostgres({ config }, copy.db);
    copies.set(backend.name, { ws: { ...ws, config }, copy });
  }
  return {
    get: (backend) => copies.get(backend)!.ws,
    async cleanup() {
      for (const { copy } of copies.values()) await copy.cleanup();
    },
  };
}
