/**
 * emomo as a library: `import { openLibrary } from 'emomo'`. The same recall
 * as `emomo recall --json` and `emomo serve`'s /api/recall, for Node programs
 * that embed emomo without HTTP or a process per query.
 *
 *   const library = await openLibrary({ config: 'configs/config.yaml' });
 *   const { results, partial } = await library.recall('我太难了', { topK: 5, tags: ['熊猫头'] });
 *   await library.close();
 */
export { openLibrary, Library, type OpenLibraryOptions, type StoredObject } from './library/library.js';
export { MAX_TOP_K, DEFAULT_TOP_K, DEFAULT_RECALL_TIMEOUT_MS, type RecallOptions } from './library/recall-search.js';
export type { RecallJson } from './library/recall-json.js';
export type { MemeJson } from './library/meme-json.js';
export type { HealthJson, CircuitReport } from './library/health.js';
export type { LibraryStats } from './pipeline/stats-service.js';
export type { RecallMode } from './pipeline/recall-service.js';
export { EmomoError, UsageError, ConfigError } from './errors.js';
