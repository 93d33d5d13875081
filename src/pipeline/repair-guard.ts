/**
 * The share guard of `verify --repair`: a repair that would delete more than a
 * small share of the library is far more likely to be pointed at the wrong
 * database, bucket or folder than to be right, so it refuses (without
 * `--force`) and names what it would have deleted. Pure: counts in, verdict out.
 */

/** A repair may delete at most this share of the memes, or of the objects... */
export const REPAIR_MAX_SHARE = 0.2;
/** ...or this many, whichever is larger. */
export const REPAIR_MAX_COUNT = 100;

export interface DeletionPlan {
  /** Memes whose object is lost and found in no source. */
  memes: number;
  /** Objects no meme refers to. */
  objects: number;
  libraryMemes: number;
  libraryObjects: number;
  examples: string[];
}

export interface RepairRefusal {
  memes: number;
  objects: number;
  /** The most the guard allows, for memes and for objects. */
  limit: { memes: number; objects: number };
  reason: string;
  examples: string[];
}

export function deletionLimit(total: number): number {
  return Math.max(Math.floor(total * REPAIR_MAX_SHARE), REPAIR_MAX_COUNT);
}

/** Why the plan deletes too much, or undefined when it may go ahead. */
export function refuseDeletion(plan: DeletionPlan): RepairRefusal | undefined {
  const limit = { memes: deletionLimit(plan.libraryMemes), objects: deletionLimit(plan.libraryObjects) };
  const reasons: string[] = [];
  if (plan.memes > 0 && plan.memes === plan.libraryMemes) {
    reasons.push(`every meme's object is missing (${plan.memes}): is the storage configured right?`);
  } else if (plan.memes > limit.memes) {
    reasons.push(`${plan.memes} of ${plan.libraryMemes} memes would be removed (at most ${limit.memes} without --force)`);
  }
  if (plan.objects > limit.objects) {
    reasons.push(
      `${plan.objects} of ${plan.libraryObjects} objects would be deleted as orphans (at most ${limit.objects} without --force): is --db the right library?`,
    );
  }
  if (reasons.length === 0) return undefined;
  return { memes: plan.memes, objects: plan.objects, limit, reason: reasons.join('; '), examples: plan.examples };
}
