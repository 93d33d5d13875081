/**
 * The staging area on disk, shared by the crawler (writer), `emomo staging`
 * (inspector) and the staging source (reader):
 *
 *   <root>/<id>/manifest.jsonl   one JSON object a line, appended whole
 *   <root>/<id>/images/<id>.<ext>
 *   <root>/<id>/images/.tmp-*    downloads in progress (a crash may leave some)
 *   <root>/<id>/skipped.jsonl    images refused for good (404, not an image…): not asked for again
 *   <root>/<id>/state.json       the crawl cursor, replaced atomically
 *   <root>/<id>/.crawl.lock      held by a running crawl
 */
import path from 'node:path';
import { UsageError } from '../errors.js';
import { stagingIdProblem } from '../sources/staging-source.js';

export const MANIFEST = 'manifest.jsonl';
export const IMAGES = 'images';
export const STATE = 'state.json';
export const SKIPPED = 'skipped.jsonl';
export const LOCK = '.crawl.lock';
export const TEMP_PREFIX = '.tmp-';

export interface StagingPaths {
  id: string;
  dir: string;
  manifest: string;
  images: string;
  state: string;
  skipped: string;
  lock: string;
}

/** Paths of one staging source; throws a UsageError for an id that could leave the root. */
export function stagingPaths(root: string, id: string): StagingPaths {
  const problem = stagingIdProblem(id);
  if (problem) throw new UsageError(problem);
  const dir = path.join(path.resolve(root), id);
  return {
    id,
    dir,
    manifest: path.join(dir, MANIFEST),
    images: path.join(dir, IMAGES),
    state: path.join(dir, STATE),
    skipped: path.join(dir, SKIPPED),
    lock: path.join(dir, LOCK),
  };
}

/** One manifest line as the crawler writes it (the staging source reads the first seven fields). */
export interface ManifestRecord {
  id: string;
  filename: string;
  category: string;
  tags: string[];
  source_url: string;
  is_animated: boolean;
  format: string;
  image_url?: string;
  file_size?: number;
  crawled_at?: string;
}

/** One line of skipped.jsonl. */
export interface SkipRecord {
  id: string;
  image_url: string;
  reason: string;
  skipped_at: string;
}
