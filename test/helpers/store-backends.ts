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
import pg from 'pg';
import * as sqliteVec from 'sqlite-vec';
import { migrateLibrary } from '../../src/pipeline/migrate-service.js';
import type { LibraryStore } from '../../src/store/ports.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { pgVecTableName } from '../../src/store/postgres/vector-tables.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { vecTableName } from '../../src/store/sqlite/vector-tables.js';
import { createTestDatabase, postgresSkipReason, usePostgres } from './postgres.js';

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
  /** Points a workspace's config at a fresh, empty library of this backend; returns what drops it again. */
  useIn(ws: { config: string }): Promise<() => Promise<void>>;
  /** A SQLite library (e.g. from test/helpers/library-generator.ts) as a library of this backend. */
  copyOf(sqliteFile: string): Promise<LibraryCopy>;
}

export interface LibraryCopy {
  /** What `--db` takes: the file, or the database URL. */
  db: string;
  /** Deletes every keyword-index row behind the port's back. */
  dropKeywordRows(): Promise<void>;
  cleanup(): Promise<void>;
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
    // A workspace's config names its own SQLite file already.
    useIn: async () => async () => undefined,
    async copyOf(file) {
      return {
        db: file,
        async dropKeywordRows() {
          const db = new Database(file);
          sqliteVec.load(db);
          db.exec('DELETE FROM memes_fts');
          db.close();
        },
        cleanup: async () => undefined,
      };
    },
  };
}

function postgresBackend(): StoreBackend {
  return {
    name: 'PostgreSQL',
    unavailable: postgresSkipReason(),
    async create() {
      const db = await createTestDatabase();
      const open = () => new PostgresStore(db.url, { label: db.name, poolSize: 4 });
      const opened: LibraryStore[] = [open()];
      return {
        store: opened[0]!,
        async connect() {
          const store = open();
          opened.push(store);
          return store;
        },
        damage: {
          dropKeywordRow: (memeId) => raw(db.url, 'DELETE FROM meme_keywords WHERE meme_id = $1', [memeId]),
          dropVector: (collection, memeId) => raw(db.url, `DELETE FROM "${pgVecTableName(collection)}" WHERE meme_id = $1`, [memeId]),
        },
        async cleanup() {
          for (const store of opened) await store.close();
          await db.drop();
        },
      };
    },
    async useIn(ws) {
      const db = await createTestDatabase();
      usePostgres(ws, db.url);
      return () => db.drop();
    },
    async copyOf(file) {
      const db = await createTestDatabase();
      const source = new SqliteStore(file);
      const target = new PostgresStore(db.url, { label: db.name });
      try {
        await migrateLibrary({ source, target }, { batchSize: 2000 });
      } finally {
        await source.close();
        await target.close();
      }
      return {
        db: db.url,
        dropKeywordRows: () => raw(db.url, 'DELETE FROM meme_keywords', []),
        cleanup: () => db.drop(),
      };
    },
  };
}

async function raw(url: string, sql: string, params: unknown[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}

export const STORE_BACKENDS: StoreBackend[] = [sqliteBackend(), postgresBackend()];
