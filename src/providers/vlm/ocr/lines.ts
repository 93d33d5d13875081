/**
 * From the recogniser's output to lines of text: greedy CTC decoding against
 * the PP-OCR character list, then (as @gutenye/ocr-common does) lines below
 * 0.5 confidence dropped and boxes on the same midline joined into one line,
 * left to right. Pure.
 */
import type { OcrLine } from '../local-description.js';
import type { Quad } from './geometry.js';

/** Lines the engine itself reports below this are dropped. */
const MIN_MEAN = 0.5;

/**
 * Decodes one line: per time step the most likely class; class 0 is the CTC
 * blank, a class repeated from the step before is one character; class k is
 * `characters[k - 1]`. Confidence is the mean probability of the kept steps.
 */
export function ctcDecode(probabilities: ArrayLike<number>, steps: number, classes: number, characters: readonly string[]): { text: string; mean: number } {
  let text = '';
  let sum = 0;
  let kept = 0;
  let previous = -1;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    let bestP = -Infinity;
    for (let c = 0; c < classes; c++) {
      const p = probabilities[t * classes + c]!;
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    const repeated = best === previous;
    previous = best;
    if (best === 0 || repeated) continue;
    text += characters[best - 1] ?? '';
    sum += bestP;
    kept++;
  }
  return { text, mean: kept > 0 ? sum / kept : 0 };
}

export interface BoxedText {
  text: string;
  mean: number;
  box: Quad;
}

/**
 * Lines at or above MIN_MEAN, grouped into rows: a box joins the first row
 * whose first box has its midline within half the average box height; rows
 * top to bottom (by their first box), boxes left to right, texts joined by a
 * space, confidence averaged, the row's box spanning its first and last box.
 */
export function groupLines(lines: readonly BoxedText[]): OcrLine[] {
  const kept = lines.filter((line) => line.mean >= MIN_MEAN);
  if (kept.length === 0) return [];
  const top = (b: Quad) => b[0][1];
  const bottom = (b: Quad) => b[2][1];
  const midline = (b: Quad) => (top(b) + bottom(b)) / 2;
  const averageHeight = kept.reduce((sum, line) => sum + bottom(line.box) - top(line.box), 0) / kept.length;
  const rows: BoxedText[][] = [];
  for (const line of kept) {
    const row = rows.find((r) => Math.abs(midline(r[0]!.box) - midline(line.box)) < averageHeight / 2);
    if (row) row.push(line);
    else rows.push([line]);
  }
  for (const row of rows) row.sort((a, b) => a.box[0][0] - b.box[0][0]);
  rows.sort((a, b) => top(a[0]!.box) - top(b[0]!.box));
  return rows.map((row) => {
    const first = row[0]!.box;
    const last = row[row.length - 1]!.box;
    return {
      text: row.map((line) => line.text).join(' '),
      confidence: row.reduce((sum, line) => sum + line.mean, 0) / row.length,
      box: [first[0], last[1], last[2], first[3]],
    };
  });
}
