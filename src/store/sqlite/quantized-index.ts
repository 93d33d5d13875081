/**
 * The fast path of vector recall: two companion tables per collection, kept
 * in step with the float32 vec0 table by `insertVector` / `deleteVector`.
 *
 * - `<vec>_bin`: a vec0 table of sign bits (`bit[dims]`, one bit per
 *   dimension, 32× smaller than float32) with the same metadata columns, for a
 *   coarse Hamming pass that over-fetches candidates. sqlite-vec 0.1.x selects
 *   the k best of every chunk with k passes over it, so one KNN costs about
 *   k × n; the table is split into SHARDS partitions (partition key
 *   meme_id % SHARDS) and each is asked for k / SHARDS candidates: the same
 *   candidate depth at a fraction of the cost.
 * - `<vec>_f32`: the float32 vectors in a plain rowid table. vec0 reads one
 *   vector out of a multi-megabyte chunk blob (~0.5 ms each); a rowid lookup
 *   here takes microseconds, so the candidates are rescored with exact cosine.
 *
 * Collections whose dimension is not a multiple of 8 have no fast path (no
 * bit vector fits them) and are always searched exactly.
 */
import type { Db } from './database.js';

/** Partitions of the binary table; fixed for the life of a table. */
export const SHARDS = 8;

export interface FastIndexTables {
  bin: string;
  f32: string;
}

/** `vec_table` names never contain a single "_" followed by a letter other than d/x, so these never collide. */
export function fastIndexTables(vecTable: string): FastIndexTables {
  return { bin: `${vecTable}_bin`, f32: `${vecTable}_f32` };
}

export function supportsFastIndex(dims: number): boolean {
  return dims % 8 === 0;
}

export function createFastIndex(db: Db, vecTable: string, dims: number): void {
  if (!supportsFastIndex(dims)) return;
  const t = fastIndexTables(vecTable);
  db.exec(
    `CREATE VIRTUAL TABLE IF NOT EXISTS "${t.bin}" USING vec0(
       meme_id INTEGER PRIMARY KEY,
       shard INTEGER PARTITION KEY,
       embedding bit[${dims}],
       category TEXT,
       is_animated INTEGER,
       source TEXT
     );
     CREATE TABLE IF NOT EXISTS "${t.f32}" (meme_id INTEGER PRIMARY KEY, embedding BLOB NOT NULL);`,
  );
}

/** Builds the companion tables of a collection created before they existed (used by a migration). */
export function buildFastIndex(db: Db, vecTable: string, dims: number): void {
  if (!supportsFastIndex(dims)) return;
  createFastIndex(db, vecTable, dims);
  const t = fastIndexTables(vecTable);
  db.exec(`DELETE FROM "${t.bin}"; DELETE FROM "${t.f32}";`);
  db.exec(`INSERT INTO "${t.f32}" (meme_id, embedding) SELECT meme_id, embedding FROM "${vecTable}"`);
  db.exec(
    `INSERT INTO "${t.bin}" (meme_id, shard, embedding, category, is_animated, source)
     SELECT v.meme_id, v.meme_id % ${SHARDS}, vec_quantize_binary(f.embedding), v.category, v.is_animated, v.source
     FROM "${vecTable}" v JOIN "${t.f32}" f ON f.meme_id = v.meme_id`,
  );
}

export function hasFastIndex(db: Db, vecTable: string): boolean {
  const t = fastIndexTables(vecTable);
  const n = db
    .prepare(`SELECT count(*) FROM sqlite_master WHERE name IN (?, ?)`)
    .pluck()
    .get(t.bin, t.f32) as number;
  return n === 2;
}

export interface FastIndexRow {
  memeId: number;
  blob: Buffer;
  category: string;
  isAnimated: boolean;
  source: string;
}

export function insertFastIndex(db: Db, vecTable: string, row: FastIndexRow): void {
  if (!hasFastIndex(db, vecTable)) return;
  const t = fastIndexTables(vecTable);
  db.prepare(`INSERT INTO "${t.f32}" (meme_id, embedding) VALUES (?, ?)`).run(row.memeId, row.blob);
  db.prepare(
    `INSERT INTO "${t.bin}" (meme_id, shard, embedding, category, is_animated, source)
     VALUES (CAST(? AS INTEGER), CAST(? AS INTEGER), vec_quantize_binary(?), ?, CAST(? AS INTEGER), ?)`,
  ).run(row.memeId, row.memeId % SHARDS, row.blob, row.category, row.isAnimated ? 1 : 0, row.source);
}

export function deleteFastIndex(db: Db, vecTable: string, memeId: number): void {
  if (!hasFastIndex(db, vecTable)) return;
  const t = fastIndexTables(vecTable);
  db.prepare(`DELETE FROM "${t.f32}" WHERE meme_id = ?`).run(memeId);
  db.prepare(`DELETE FROM "${t.bin}" WHERE meme_id = ?`).run(memeId);
}
