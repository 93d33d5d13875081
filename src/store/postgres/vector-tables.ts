/**
 * One vector table per collection, `vector(d)` with the collection's own
 * dimension, keyed by meme id (and removed with its meme). The float32
 * vectors are kept whole, so exact search and rescoring stay exact and a
 * migrated library holds bit-identical vectors; the HNSW index (cosine)
 * is built over a `halfvec` cast of the column, half the size of a float32
 * index and within HNSW's 4,000-dimension limit for half vectors. The
 * `collections` table remembers each one's dimension; a config that
 * disagrees is refused, never "fixed".
 */
import { createHash } from 'node:crypto';
import { DimensionMismatchError } from '../../errors.js';
import { vectorParam, type Client, type Sql } from './sql.js';

export interface PgCollection {
  name: string;
  dims: number;
  model: string;
  vec_table: string;
}

/** pgvector indexes half vectors of at most this many dimensions; larger collections are searched exactly. */
export const HNSW_MAX_DIMS = 4000;

/** A readable, injective table name within PostgreSQL's 63-byte identifier limit. */
export function pgVecTableName(collection: string): string {
  const readable = collection.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 40);
  const hash = createHash('sha1').update(collection).digest('hex').slice(0, 8);
  return `vec_${readable}_${hash}`;
}

/** The HNSW search expression of a collection: the column as half vectors (the index is built on exactly this). */
export function halfvecExpr(coll: PgCollection, column = 'embedding'): string {
  return `${column}::halfvec(${coll.dims})`;
}

export function hasHnswIndex(coll: PgCollection): boolean {
  return coll.dims <= HNSW_MAX_DIMS;
}

/** The collection's HNSW index (cosine over half vectors, pgvector's default m = 16, ef_construction = 64). */
export function hnswIndexName(coll: PgCollection): string {
  return `${coll.vec_table}_hnsw`;
}

export function hnswIndexSql(coll: PgCollection): string {
  return `CREATE INDEX IF NOT EXISTS "${hnswIndexName(coll)}" ON "${coll.vec_table}" USING hnsw ((${halfvecExpr(coll)}) halfvec_cosine_ops)`;
}

export async function findCollection(sql: Sql, name: string): Promise<PgCollection | undefined> {
  const { rows } = await sql.query<PgCollection>('SELECT name, dims, model, vec_table FROM collections WHERE name = $1', [name]);
  return rows[0];
}

export async function listCollections(sql: Sql): Promise<PgCollection[]> {
  return (await sql.query<PgCollection>('SELECT name, dims, model, vec_table FROM collections ORDER BY name')).rows;
}

/** Creates the collection's table and index, or checks its dimension (machines starting together create it once). */
export async function ensureVectorTable(client: Client, name: string, dims: number, model: string): Promise<PgCollection> {
  let coll = await findCollection(client, name);
  if (!coll) {
    const table = pgVecTableName(name);
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`emomo collection ${name}`]);
      coll = await findCollection(client, name);
      if (!coll) {
        await client.query(
          `CREATE TABLE "${table}" (
             meme_id   bigint PRIMARY KEY REFERENCES memes (id) ON DELETE CASCADE,
             embedding vector(${dims}) NOT NULL)`,
        );
        coll = { name, dims, model, vec_table: table };
        if (hasHnswIndex(coll)) await client.query(hnswIndexSql(coll));
        await client.query('INSERT INTO collections (name, dims, model, vec_table) VALUES ($1, $2, $3, $4)', [name, dims, model, table]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
  if (coll.dims !== dims) {
    throw new DimensionMismatchError(
      `collection "${name}" stores ${coll.dims}-dimensional vectors but the embedding config asks for ${dims}; ` +
        `give this embedding its own collection name, or purge the collection first`,
    );
  }
  return coll;
}

/** Writes (or replaces) a meme's vector in a collection. The only writer. */
export async function upsertVector(sql: Sql, coll: PgCollection, memeId: number, vector: Float32Array): Promise<void> {
  checkDims(coll, vector);
  await sql.query(
    `INSERT INTO "${coll.vec_table}" (meme_id, embedding) VALUES ($1, $2::vector)
     ON CONFLICT (meme_id) DO UPDATE SET embedding = excluded.embedding`,
    [memeId, vectorParam(vector)],
  );
}

/** Removes a meme's vector from a collection. The only deleter. */
export async function deleteVector(sql: Sql, coll: PgCollection, memeId: number): Promise<void> {
  await sql.query(`DELETE FROM "${coll.vec_table}" WHERE meme_id = $1`, [memeId]);
}

export function checkDims(coll: PgCollection, vector: Float32Array): void {
  if (vector.length !== coll.dims) throw new Error(`vector has ${vector.length} dimensions, collection "${coll.name}" needs ${coll.dims}`);
}
