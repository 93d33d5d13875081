/**
 * Versioned schema migrations. The schema version lives in SQLite's
 * `user_version`; opening an older file applies the missing steps in order,
 * each in its own transaction. Append new steps, never edit old ones.
 */
import type { Database } from 'better-sqlite3';
import { reindexKeywords } from '../fts-terms.js';
import { createIndex, indexTables, rebuildIndex, supportsFastIndex } from './quantized-index.js';

const now = "(strftime('%Y-%m-%dT%H:%M:%fZ','now'))";

export const migrations: ReadonlyArray<(db: Database) => void> = [
  // 1: the library.
  (db) =>
    db.exec(`
      CREATE TABLE memes (
        id          INTEGER PRIMARY KEY,
        md5         TEXT NOT NULL UNIQUE,
        source_type TEXT NOT NULL,             -- where the image was first seen
        source_id   TEXT NOT NULL,
        storage_key TEXT NOT NULL,
        width       INTEGER NOT NULL,
        height      INTEGER NOT NULL,
        format      TEXT NOT NULL,
        is_animated INTEGER NOT NULL,
        frames      INTEGER NOT NULL DEFAULT 1,
        file_size   INTEGER NOT NULL,
        category    TEXT NOT NULL,
        tags        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
        source_url  TEXT,
        status      TEXT NOT NULL DEFAULT 'active',
        created_at  TEXT NOT NULL DEFAULT ${now},
        updated_at  TEXT NOT NULL DEFAULT ${now}
      );
      CREATE INDEX memes_source ON memes(source_type, source_id);

      -- Every (source, id) that offered an image: one meme may come from several sources.
      CREATE TABLE meme_sources (
        source_type TEXT NOT NULL,
        source_id   TEXT NOT NULL,
        meme_id     INTEGER NOT NULL REFERENCES memes(id) ON DELETE CASCADE,
        source_url  TEXT,
        created_at  TEXT NOT NULL DEFAULT ${now},
        PRIMARY KEY (source_type, source_id)
      );
      CREATE INDEX meme_sources_meme ON meme_sources(meme_id);

      -- Paid for once, reused forever: kept even when a later stage of the item failed.
      CREATE TABLE meme_descriptions (
        md5               TEXT NOT NULL,
        vlm_model         TEXT NOT NULL,
        prompt_version    TEXT NOT NULL,
        description       TEXT NOT NULL,
        ocr_text          TEXT NOT NULL,
        emotions          TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(emotions)),
        prompt_tokens     INTEGER,
        completion_tokens INTEGER,
        created_at        TEXT NOT NULL DEFAULT ${now},
        PRIMARY KEY (md5, vlm_model, prompt_version)
      );

      -- One row per embedding collection; each has its own vec0 table and dimension.
      CREATE TABLE collections (
        name       TEXT PRIMARY KEY,
        dims       INTEGER NOT NULL,
        model      TEXT NOT NULL,
        vec_table  TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL DEFAULT ${now}
      );

      CREATE TABLE meme_vectors (
        id             INTEGER PRIMARY KEY,
        meme_id        INTEGER NOT NULL REFERENCES memes(id) ON DELETE CASCADE,
        md5            TEXT NOT NULL,
        collection     TEXT NOT NULL REFERENCES collections(name),
        model          TEXT NOT NULL,
        dims           INTEGER NOT NULL,
        vlm_model      TEXT NOT NULL,
        prompt_version TEXT NOT NULL,
        created_at     TEXT NOT NULL DEFAULT ${now},
        UNIQUE (md5, collection)
      );
      CREATE INDEX meme_vectors_meme ON meme_vectors(meme_id);

      -- Failed work, idempotent by key; see src/resilience/backoff.ts.
      CREATE TABLE jobs (
        id              INTEGER PRIMARY KEY,
        idempotency_key TEXT NOT NULL UNIQUE,
        source_type     TEXT NOT NULL,
        source_id       TEXT NOT NULL,
        collection      TEXT NOT NULL,
        path            TEXT,
        stage           TEXT NOT NULL,
        reason          TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        status          TEXT NOT NULL CHECK (status IN ('pending','processing','done','failed','dead')),
        next_retry_at   TEXT,
        created_at      TEXT NOT NULL DEFAULT ${now},
        updated_at      TEXT NOT NULL DEFAULT ${now}
      );
      CREATE INDEX jobs_due ON jobs(status, next_retry_at);

      -- Keyword index; columns hold pre-segmented terms (see fts-terms.ts), rowid = memes.id.
      CREATE VIRTUAL TABLE memes_fts USING fts5(ocr_text, description, tags, tokenize = 'unicode61');
    `),
  // 2: retry and cron safety. A job carries what is needed to rebuild its source item
  // (payload) and a claim (owner + expiry) so two retry runs never take the same job;
  // item_claims is taken before describe/embed so two processes never pay twice for an image.
  (db) =>
    db.exec(`
      ALTER TABLE jobs ADD COLUMN payload TEXT CHECK (payload IS NULL OR json_valid(payload));
      ALTER TABLE jobs ADD COLUMN claimed_by TEXT;
      ALTER TABLE jobs ADD COLUMN claim_expires_at TEXT;
      CREATE INDEX jobs_collection ON jobs(collection, status);

      CREATE TABLE item_claims (
        md5        TEXT NOT NULL,
        collection TEXT NOT NULL,
        owner      TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT ${now},
        PRIMARY KEY (md5, collection)
      );
    `),
  // 3: the quantised recall index for collections created before it existed (then a vec0
  // table of sign bits, replaced by step 6; its float32 copy for rescoring stays); and the
  // keyword index re-segmented, since mixed runs like "emo了" now split into "emo" + "了".
  (db) => {
    for (const row of collectionTables(db)) {
      if (!supportsFastIndex(row.dims)) continue;
      const f32 = indexTables(row.vec_table).f32;
      db.exec(
        `CREATE TABLE IF NOT EXISTS "${f32}" (meme_id INTEGER PRIMARY KEY, embedding BLOB NOT NULL);
         INSERT OR IGNORE INTO "${f32}" (meme_id, embedding) SELECT meme_id, embedding FROM "${row.vec_table}";`,
      );
    }
    reindexKeywords(db);
  },
  // 4: document frequencies for recall (how many memes hold a term: fts5vocab reads them
  // live from the keyword index, so they follow every add and delete); and the keyword
  // index re-segmented, since text is now NFKC-folded ("ｅｍｏ" is "emo") and bounded.
  (db) => {
    db.exec('CREATE VIRTUAL TABLE IF NOT EXISTS memes_fts_vocab USING fts5vocab(memes_fts, row)');
    reindexKeywords(db);
  },
  // 5: object deletes are recorded before they happen (purge records them in the
  // transaction that removes the rows, repair before it deletes orphans), so a run
  // killed in between leaves work the next purge or verify --repair finishes. A
  // delete in progress holds a lease (owner + expiry) that keeps ingest from
  // claiming the image until the object is gone (see object-delete-queries.ts).
  (db) =>
    db.exec(`
      CREATE TABLE IF NOT EXISTS pending_deletes (
        key        TEXT PRIMARY KEY,
        md5        TEXT NOT NULL,
        reason     TEXT NOT NULL,
        owner      TEXT,
        expires_at TEXT,
        created_at TEXT NOT NULL DEFAULT ${now}
      );
      CREATE INDEX IF NOT EXISTS pending_deletes_md5 ON pending_deletes(md5);
    `),
  // 6: what reading an image cost, per description: frames read (several for an animated
  // meme) and wall time of the describe call. NULL for descriptions made before.
  // (Idempotent, like 4 and 5: a file whose version was lowered by hand keeps its columns.)
  (db) => {
    const columns = new Set((db.pragma('table_info(meme_descriptions)') as Array<{ name: string }>).map((c) => c.name));
    if (!columns.has('frames')) db.exec('ALTER TABLE meme_descriptions ADD COLUMN frames INTEGER');
    if (!columns.has('describe_ms')) db.exec('ALTER TABLE meme_descriptions ADD COLUMN describe_ms INTEGER');
  },
  // 7: the partitioned vector index (quantized-index.ts) replaces the sign-bit vec0 table,
  // whose linear scan lost recall past ~100,000 vectors; every collection's index is built
  // here from its stored vectors.
  (db) => {
    db.exec('CREATE TABLE IF NOT EXISTS vector_index_state (vec_table TEXT PRIMARY KEY, generation INTEGER NOT NULL, list_cap INTEGER)');
    for (const row of collectionTables(db)) {
      db.exec(`DROP TABLE IF EXISTS "${row.vec_table}_bin"`);
      createIndex(db, row.vec_table, row.dims);
      rebuildIndex(db, row.vec_table, row.dims);
    }
  },
  // 8: pictures (see src/images/phash.ts). Two perceptual hashes and a colour layout per meme (filled at
  // ingest, and by `emomo dupes` for memes from before); the picture hash's bytes as
  // bands for the candidate lookup; md5s merged into (or skipped as duplicates of) a
  // meme; and template variants linked to their template.
  (db) => {
    const columns = new Set((db.pragma('table_info(memes)') as Array<{ name: string }>).map((c) => c.name));
    if (!columns.has('phash')) db.exec('ALTER TABLE memes ADD COLUMN phash TEXT');
    if (!columns.has('picture_hash')) db.exec('ALTER TABLE memes ADD COLUMN picture_hash TEXT');
    if (!columns.has('picture_colours')) db.exec('ALTER TABLE memes ADD COLUMN picture_colours TEXT');
    db.exec(`
      CREATE TABLE IF NOT EXISTS picture_bands (
        band    INTEGER NOT NULL,
        value   INTEGER NOT NULL,
        meme_id INTEGER NOT NULL REFERENCES memes(id) ON DELETE CASCADE,
        PRIMARY KEY (band, value, meme_id)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS picture_bands_meme ON picture_bands(meme_id);

      CREATE TABLE IF NOT EXISTS meme_aliases (
        md5        TEXT PRIMARY KEY,
        meme_id    INTEGER NOT NULL REFERENCES memes(id) ON DELETE CASCADE,
        reason     TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT ${now}
      );
      CREATE INDEX IF NOT EXISTS meme_aliases_meme ON meme_aliases(meme_id);

      CREATE TABLE IF NOT EXISTS meme_variants (
        meme_id     INTEGER PRIMARY KEY REFERENCES memes(id) ON DELETE CASCADE,
        template_id INTEGER NOT NULL REFERENCES memes(id) ON DELETE CASCADE,
        created_at  TEXT NOT NULL DEFAULT ${now}
      );
      CREATE INDEX IF NOT EXISTS meme_variants_template ON meme_variants(template_id);
    `);
  },
];

function collectionTables(db: Database): Array<{ vec_table: string; dims: number }> {
  return db.prepare('SELECT vec_table, dims FROM collections').all() as Array<{ vec_table: string; dims: number }>;
}

/** The schema version of an open database (0: empty). */
export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: Database): { from: number; to: number } {
  const from = schemaVersion(db);
  if (from > migrations.length) {
    throw new Error(
      `database schema version ${from} is newer than this emomo understands (${migrations.length}); upgrade emomo`,
    );
  }
  for (let version = from; version < migrations.length; version++) {
    db.transaction(() => {
      // Two processes opening a fresh file at once: the second finds the step already applied.
      if (schemaVersion(db) > version) return;
      migrations[version]!(db);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
  return { from, to: migrations.length };
}
