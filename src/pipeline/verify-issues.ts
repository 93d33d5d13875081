/** The kinds of problem verify reports, what each means and what repair does about it, and the shapes they travel in. */
import type { MemeObject, VerifyCheck, VerifyTotals } from '../store/ports.js';

/** Temporary files younger than this may belong to a running write and are left alone. */
export const DEFAULT_LEFTOVER_AGE_MS = 60 * 60 * 1000;

export type IssueKind = VerifyCheck | 'leftover_temp_file' | 'object_content_mismatch' | 'database_integrity';

const REQUEUED = 're-queued for `emomo embed` (the meme and its image stay)';

export const ISSUE_TEXT: Record<IssueKind, { what: string; repair: string }> = {
  object_without_meme: { what: 'objects in storage no meme refers to', repair: 'object deleted, after checking again that no meme refers to it and no running ingest claims it' },
  meme_without_object: {
    what: 'memes whose object is missing',
    repair: 'object re-stored from the source file when it is still there; else the meme is removed (its description stays, a re-ingest restores it)',
  },
  pending_object_delete: { what: 'object deletes recorded by purge or repair and not finished', repair: 'finished' },
  vector_row_without_meme: { what: 'meme_vectors rows without their meme', repair: 'row deleted' },
  vec_row_without_vector_row: { what: 'vector-table rows without a meme_vectors row', repair: `vector deleted; its meme ${REQUEUED}` },
  vector_row_without_vec_row: { what: 'meme_vectors rows whose vector is missing', repair: `row deleted; the meme ${REQUEUED}` },
  vector_dims_mismatch: { what: 'vectors whose dimension disagrees with their collection', repair: `row and vector deleted; the meme ${REQUEUED}` },
  vector_index_out_of_step: {
    what: "vector-index entries out of step with a collection's vectors (missing, stray, miscounted), or an index whose lists deletes have left mostly empty",
    repair: 'index entries rebuilt from the stored vectors (the whole index when its lists are mostly empty); no vector or meme is removed',
  },
  meme_without_vector: {
    what: 'memes with no vector in any collection',
    repair: `kept, never removed for a missing vector: ${REQUEUED}; one with no description needs a re-ingest of its source`,
  },
  vector_without_description: { what: 'vectors whose description is missing', repair: 'not repairable here: `emomo ingest --force` re-describes' },
  fts_row_without_meme: { what: 'keyword-index rows without a meme', repair: 'row deleted' },
  meme_without_fts_row: { what: 'memes missing from the keyword index', repair: 'rebuilt from the description' },
  source_link_without_meme: { what: 'meme_sources rows pointing to no meme', repair: 'row deleted' },
  leftover_temp_file: { what: 'temporary files left by interrupted writes', repair: 'file deleted' },
  object_content_mismatch: {
    what: 'objects whose bytes do not match their md5 (overwritten or truncated)',
    repair: 're-stored from the source file when it is still there; else left as it is and reported',
  },
  database_integrity: {
    what: "problems the database's own integrity check found in its file",
    repair: 'not repairable here: nothing is changed; restore the file from a backup',
  },
};

export interface Issue {
  kind: IssueKind;
  what: string;
  count: number;
  examples: string[];
}

export interface RepairAction {
  kind: IssueKind;
  fixed: number;
  action: string;
  /** Deletes or re-stores that failed: left in place, reported again by the next verify. */
  failed?: number;
  examples?: string[];
}

/** One pass of checks: what was found, and what repair needs to act on it. */
export interface Audit {
  found: number;
  issues: Issue[];
  totals: VerifyTotals;
  backfill: Array<{ collection: string; missing: number }>;
  /** Count per database check. */
  counts: Partial<Record<VerifyCheck, number>>;
  /** Memes whose object's content is damaged (deep check only). */
  damaged: MemeObject[];
  /** Problems of the database file (deep check only); when set, nothing else was checked. */
  integrity?: string[];
}

export function issue(kind: IssueKind, count: number, examples: string[]): Issue {
  return { kind, what: ISSUE_TEXT[kind].what, count, examples };
}
