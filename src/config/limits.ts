/** Bounds shared by the config schema and the command-line flags (light: no schema library). */

/** The most items processed in parallel (ingest.workers, --workers). */
export const MAX_WORKERS = 256;

/** Length of the offline picture signature (src/images/signature.ts): embeddings `provider: local, input: image`. */
export const LOCAL_PICTURE_DIMENSIONS = 192;
