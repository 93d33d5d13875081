/**
 * Durations as people write them in config files and flags: "500ms", "3s",
 * "2m", "1h", or a bare number meaning seconds. Shared by the config schema
 * (vlm.timeout) and the CLI (--timeout, --interval) so both accept the same
 * spellings.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)?$/;

/** Milliseconds (rounded to a whole number). Throws an Error naming the bad text. */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new Error(durationProblem(String(text)));
    return Math.round(text * UNIT_MS.s);
  }
  const match = DURATION.exec(text.trim());
  if (!match) throw new Error(durationProblem(text));
  const unit = (match[2] ?? 's') as keyof typeof UNIT_MS;
  return Math.round(Number(match[1]) * UNIT_MS[unit]);
}

function durationProblem(text: string): string {
  return `invalid duration ${JSON.stringify(text)}: use a number with a unit such as 500ms, 3s, 2m or 1h (a bare number means seconds)`;
}
