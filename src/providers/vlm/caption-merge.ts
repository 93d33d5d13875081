/**
 * One caption from the captions read off several frames of an animation:
 * every distinct line once, in reading order. Pure, so it is tested without a
 * model. Changing what it outputs means bumping the local describer's prompt
 * version.
 *
 * OCR reads the same caption slightly differently from frame to frame (a
 * character misread, punctuation dropped, half a caption while it fades in),
 * so lines are compared loosely: after dropping spaces and punctuation, equal,
 * one containing the other, or within a third of their length in edits. Of
 * the readings of one line the longest wins (a caption fading in or partly
 * hidden reads short); of readings of one length the earliest stays, so a
 * caption the first frame reads whole reads exactly as it did from the first
 * frame alone. (Taking the most confident reading instead changed one
 * misreading into another on the real memes, and never fixed one.)
 */

interface Merged {
  text: string;
  /** Every comparable form this line was read as. */
  keys: Set<string>;
  /** The comparable form of `text`. */
  key: string;
}

/** Lines of every frame (each in reading order, frames in playing order) → the caption, one line per row. */
export function mergeFrameCaptions(frames: readonly (readonly string[])[]): string {
  const merged: Merged[] = [];
  for (const lines of frames) {
    const matches = lines.map((line) => findSimilar(merged, comparable(line)));
    // Lines seen before are updated in place; new ones are inserted just
    // before the next line of the same frame that was seen before (so a line
    // that appears above a known one stays above it), or else at the end (a
    // caption that follows the earlier ones in time comes after them).
    const inserts: Array<{ before: number; entries: Merged[] }> = [];
    let pending: Merged[] = [];
    lines.forEach((line, i) => {
      const match = matches[i]!;
      if (match) {
        improve(match, line);
        if (pending.length > 0) inserts.push({ before: merged.indexOf(match), entries: pending });
        pending = [];
      } else {
        // Lines of one frame are never merged with each other: a still (one
        // frame) reads exactly as its lines say.
        const key = comparable(line);
        pending.push({ text: line, key, keys: new Set([key]) });
      }
    });
    if (pending.length > 0) inserts.push({ before: merged.length, entries: pending });
    // From the back, so earlier insertion points keep their index (and of two
    // groups going before the same line, the later one goes in first).
    const order = inserts.map((insert, i) => ({ ...insert, i })).sort((a, b) => b.before - a.before || b.i - a.i);
    for (const { before, entries } of order) merged.splice(before, 0, ...entries);
  }
  return merged.map((m) => m.text).join('\n');
}

function findSimilar(merged: readonly Merged[], key: string): Merged | undefined {
  return merged.find((m) => similar(m.keys, key));
}

function improve(entry: Merged, line: string): void {
  const key = comparable(line);
  entry.keys.add(key);
  // Longer wins (a caption fading in or half hidden reads short); otherwise the earlier reading stays.
  if (key.length > entry.key.length) {
    entry.text = line;
    entry.key = key;
  }
}

/** What is compared: the text without spaces, punctuation and symbols, lower case. */
export function comparable(text: string): string {
  const stripped = text.replace(/[\s\p{P}\p{S}]/gu, '').toLowerCase();
  return stripped === '' ? text.trim() : stripped;
}

function similar(keys: ReadonlySet<string>, key: string): boolean {
  for (const other of keys) {
    if (other === key || other.includes(key) || key.includes(other)) return true;
    const longer = Math.max([...other].length, [...key].length);
    if (editDistance(other, key) <= Math.floor(longer / 3)) return true;
  }
  return false;
}

/** Levenshtein distance over code points. */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[y.length]!;
}
