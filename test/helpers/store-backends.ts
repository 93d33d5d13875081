/**
 * The database backends the store contract suite runs against. Each factory
 * makes a fresh, empty library and knows how to damage it behind the port's
 * back (the verify audit must notice). Adding a backend is one entry in
 * STORE_BACKENDS.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import type { LibraryStore } from '../../src/store/ports.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { vecTableName } from '../../src/store/sqlite/vector-tables.js';

export interface TestLibrary {
  store: LibraryStore;
  /** Another connection to the same library, as a second process would have. */
  connect(): Promise<LibraryStore>;
  /** Inconsistencies made behind the port's back, as a crash or a bug would leave them. */
  damage: {
    /** Deletes a meme's keyword-index row. */
    dropKeywordRow(memeId: number): Promise<void>;
    /** Deletes a meme's vector in a collection, leaving its vector row (meme_vectors). */
    dropVector(collection: string, memeId: number): Promise<void>;
  };
  cleanup(): Promise<void>;
}

export interface StoreBackend {
  name: string;
  /** Why the backend cannot run here (e.g. no server configured); undefined when it can. */
  unavailable?: string;
  create(): Promise<TestLibrary>;
}

function sqliteBackend(): StoreBackend {
  return {
    name: 'SQLite',
    async create() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-store-'));
      const file = path.join(dir, 'emomo.db');
      const opened: LibraryStore[] = [new SqliteStore(file)];
      const raw = (fn: (db: Database.Database) => void) => {
        const db = new Database(file);
        sqliteVec.load(db);
        try {
          fn(db);
        } finally {
          db.close();
        }
      };
      return {
        store: opened[0]!,
        async connect() {
          const store = new SqliteStore(file);
          opened.push(store);
          return store;
        },
        damage: {
          async dropKeywordRow(memeId) {
            raw((db) => db.prepare('DELETE FROM memes_fts WHERE rowid = ?').run(memeId));
          },
          async dropVector(collection, memeId) {
            raw((db) => db.prepare(`DELETE FROM "${vecTableName(collection)}" WHERE meme_id = ?`).run(memeId));
          },
        },
        async cleanup() {
          for (const store of opened) await store.close();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

export const STORE_BACKENDS: StoreBackend[] = [sqliteBackend()];
