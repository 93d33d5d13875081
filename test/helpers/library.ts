/** Row and object counts of a workspace's library, for tests that prove "exactly once". */
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { vecTableName } from '../../src/store/sqlite/vector-tables.js';
import { listObjects, type Workspace } from './workspace.js';

const QUERIES = {
  memes: 'SELECT count(*) n FROM memes',
  md5s: 'SELECT count(DISTINCT md5) n FROM memes',
  sources: 'SELECT count(*) n FROM meme_sources',
  vectors: 'SELECT count(*) n FROM meme_vectors',
  descriptions: 'SELECT count(*) n FROM meme_descriptions',
  fts: 'SELECT count(*) n FROM memes_fts',
  jobs: 'SELECT count(*) n FROM jobs',
  openJobs: "SELECT count(*) n FROM jobs WHERE status <> 'done'",
  claims: 'SELECT count(*) n FROM item_claims',
} as const;

export type CountKey = keyof typeof QUERIES | 'vec' | 'objects';

/** The requested counts, in the order asked; `vec` counts the vec0 rows of `collection`. */
export function libraryCounts<K extends CountKey>(
  ws: Workspace,
  keys: readonly K[],
  collection = 'emomo-local',
): Record<K, number> {
  const db = new Database(ws.db, { readonly: true });
  sqliteVec.load(db);
  try {
    const out = {} as Record<K, number>;
    for (const key of keys) {
      if (key === 'objects') out[key] = listObjects(ws.objects).length;
      else {
        const sql = key === 'vec' ? `SELECT count(*) n FROM "${vecTableName(collection)}"` : QUERIES[key as keyof typeof QUERIES];
        out[key] = (db.prepare(sql).get() as { n: number }).n;
      }
    }
    return out;
  } finally {
    db.close();
  }
}
