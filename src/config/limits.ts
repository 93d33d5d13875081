/** Bounds shared by the config schema and the command-line flags (light: no schema library). */

/** The most items processed in parallel (ingest.workers, --workers). */
export const MAX_WORKERS = 256;
