/**
 * One sqlite-vec `vec0` table per collection, cosine distance, with metadata
 * columns so filters run inside the KNN. The `collections` table remembers
 * each one's dimension; a config that disagrees is refused, never "fixed".
 */
import { DimensionMismatchError } from '../../errors.js';
import type { Db } from './database.js';
import { createIndex, indexVector, unindexVector } from './quantized-index.js';
import { vectorBlob } from './vector-blobs.js';

export interface CollectionRow {
  name: string;
  dims: number;
  model: string;
  vec_table: string;
}

export function vecTableName(collection: string): string {
  // Injective, so "a-b" and "a_b" never share a table: "_" doubles, "-" becomes "_d",
  // anything else (the config schema allows none) becomes "_x<hex>_".
  const safe = [...collection]
    .map((c) => (/[a-zA-Z0-9]/.test(c) ? c : c === '_' ? '__' : c === '-' ? '_d' : `_x${c.codePointAt(0)!.toString(16)}_`))
    .join('');
  return `vec_${safe}`;
}

export function ensureVectorTable(db: Db, name: string, dims: number, model: string): CollectionRow {
  // Read and create in one IMMEDIATE transaction: two ingests starting together on a new library would
  // otherwise both see no row and the second would fail on collections.vec_table's UNIQUE constraint.
  const existing = db.transaction(() => existingCollection(db, name) ?? createVectorTable(db, name, dims, model)).immediate();
  if (existing.dims !== dims) {
    throw new DimensionMismatchError(
      `collection "${name}" stores ${existing.dims}-dimensional vectors but the embedding config asks for ${dims}; ` +
        `give this embedding its own collection name, or purge the collection first`,
    );
  }
  return existing;
}

function existingCollection(db: Db, name: string): CollectionRow | undefined {
  return db.prepare('SELECT name, dims, model, vec_table FROM collections WHERE name = ?').get(name) as CollectionRow | undefined;
}

function createVectorTable(db: Db, name: string, dims: number, model: string): CollectionRow {
  const row: CollectionRow = { name, dims, model, vec_table: vecTableName(name) };
  db.exec(
    `CREATE VIRTUAL TABLE IF NOT EXISTS "${row.vec_table}" USING vec0(
       meme_id INTEGER PRIMARY KEY,
       embedding float[${dims}] distance_metric=cosine,
       category TEXT,
       is_animated INTEGER,
       source TEXT
     )`,
  );
  // The partitioned index (see quantized-index.ts), written alongside from the start.
  createIndex(db, row.vec_table, dims);
  db.prepare('INSERT INTO collections (name, dims, model, vec_table) VALUES (?, ?, ?, ?)').run(name, dims, model, row.vec_table);
  return row;
}

export function listCollections(db: Db): CollectionRow[] {
  return db.prepare('SELECT name, dims, model, vec_table FROM collections ORDER BY name').all() as CollectionRow[];
}

export interface VectorMeta {
  category: string;
  isAnimated: boolean;
  source: string;
}

/** Writes a meme's vector into a collection's vector table(s). The only writer. */
export function insertVector(db: Db, coll: CollectionRow, memeId: number, vector: Float32Array, meta: VectorMeta): void {
  const blob = vectorBlob(vector);
  db.prepare(
    `INSERT INTO "${coll.vec_table}" (meme_id, embedding, category, is_animated, source)
     VALUES (CAST(? AS INTEGER), ?, ?, CAST(? AS INTEGER), ?)`,
  ).run(memeId, blob, meta.category, meta.isAnimated ? 1 : 0, meta.source);
  indexVector(db, coll.vec_table, { memeId, vector, category: meta.category, isAnimated: meta.isAnimated });
}

/** Removes a meme's vector from a collection's vector table(s). The only deleter. */
export function deleteVector(db: Db, coll: CollectionRow, memeId: number): void {
  db.prepare(`DELETE FROM "${coll.vec_table}" WHERE meme_id = ?`).run(memeId);
  unindexVector(db, coll.vec_table, memeId);
}
