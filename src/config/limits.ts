/** Bounds and choices shared by the config schema, the command-line flags and the server (light: no schema library). */

/** The recall modes (recall --mode, GET /api/recall?mode=). */
export type RecallMode = 'hybrid' | 'vector' | 'keyword';
export const RECALL_MODES: readonly RecallMode[] = ['hybrid', 'vector', 'keyword'];

/** Recall's top-k at most: hybrid search fetches 4× top-k per side; the vector index answers at most 4096 (sqlite-vec's k limit). */
export const MAX_TOP_K = 1000;

/** Server processes of one `emomo serve --workers` at most. */
export const MAX_SERVE_WORKERS = 64;

/** Retries of one crawl request on 429 / 5xx / network errors (crawl --retries). */
export const DEFAULT_CRAWL_RETRIES = 3;

/** The most items processed in parallel (ingest.workers, --workers). */
export const MAX_WORKERS = 256;

/** Length of the offline picture signature (src/images/signature.ts): embeddings `provider: local, input: image`. */
export const LOCAL_PICTURE_DIMENSIONS = 192;
