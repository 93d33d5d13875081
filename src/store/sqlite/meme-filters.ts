/**
 * Recall filters as SQL on SQLite: over `memes m` for keyword search and id
 * sets, as vec0 metadata constraints for the KNN.
 */
import type { RecallFilters } from '../ports.js';

type Params = unknown[];

/** Whether a filter needs the set of matching meme ids (a tag or a source cannot be vec0 metadata). */
export function needsIdSet(filters: RecallFilters): boolean {
  return filters.tags.length > 0 || filters.source !== undefined;
}

/** Filters as SQL over `memes m` (keyword search and id sets). */
export function memeWhere(filters: RecallFilters): { where: string; params: Params } {
  let where = '';
  const params: Params = [];
  for (const tag of filters.tags) {
    where += ' AND EXISTS (SELECT 1 FROM json_each(m.tags) t WHERE t.value = ?)';
    params.push(tag);
  }
  if (filters.category !== undefined) {
    where += ' AND m.category = ?';
    params.push(filters.category);
  }
  if (filters.animated !== undefined) {
    where += ' AND m.is_animated = ?';
    params.push(filters.animated ? 1 : 0);
  }
  if (filters.source !== undefined) {
    where += ' AND (m.source_type = ? OR EXISTS (SELECT 1 FROM meme_sources s WHERE s.meme_id = m.id AND s.source_type = ?))';
    params.push(filters.source, filters.source);
  }
  return { where, params };
}

/** Filters as vec0 constraints: metadata columns, plus an id set for what metadata cannot hold. */
export function metadataWhere(filters: RecallFilters, ids?: readonly number[]): { where: string; params: Params } {
  let where = '';
  const params: Params = [];
  if (filters.category !== undefined) {
    where += ' AND category = ?';
    params.push(filters.category);
  }
  if (filters.animated !== undefined) {
    where += ' AND is_animated = CAST(? AS INTEGER)';
    params.push(filters.animated ? 1 : 0);
  }
  if (ids) {
    where += ' AND meme_id IN (SELECT value FROM json_each(?))';
    params.push(JSON.stringify(ids));
  }
  return { where, params };
}
