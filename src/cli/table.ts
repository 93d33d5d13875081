/**
 * A plain-text table for human output: columns padded to their widest cell,
 * numbers right-aligned. Wide (CJK) characters count as two columns so
 * Chinese sources and captions line up in a terminal.
 */
import { pathToFileURL } from 'node:url';
import { terminalText } from './terminal-text.js';

export type Cell = string | number | boolean | null | undefined;

const WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u;

/** An OSC 8 terminal hyperlink: takes no columns of its own. */
const LINK = /\x1b\]8;;[^\x07]*\x07/g;

/** `label` shown in the terminal, opening `file` when clicked (terminals without OSC 8 show the label). */
export function fileLink(file: string, label: string): string {
  return `\x1b]8;;${pathToFileURL(file).href}\x07${label}\x1b]8;;\x07`;
}

/** Terminal columns a string takes. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text.replace(LINK, '')) width += WIDE.test(ch) || (ch.codePointAt(0)! >= 0x20000 && ch.codePointAt(0)! <= 0x3fffd) ? 2 : 1;
  return width;
}

function pad(text: string, width: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return right ? fill + text : text + fill;
}

/** A cell never spans lines, never drives the terminal, and never takes more than this many columns. */
const CELL_MAX_WIDTH = 120;

function cellText(text: string): string {
  return truncateToWidth(terminalText(text), CELL_MAX_WIDTH);
}

/** Formats rows under headers; returns lines without a trailing newline. An empty table prints "(none)". */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly Cell[]>, indent = '  '): string {
  if (rows.length === 0) return `${indent}(none)`;
  const text = rows.map((row) => headers.map((_, i) => (row[i] === null || row[i] === undefined ? '' : cellText(String(row[i])))));
  const numeric = headers.map((_, i) => rows.every((row) => typeof row[i] === 'number' || row[i] == null));
  const widths = headers.map((h, i) => Math.max(displayWidth(h), ...text.map((r) => displayWidth(r[i]!))));
  const line = (cells: string[]) =>
    indent + cells.map((c, i) => pad(c, widths[i]!, numeric[i]!)).join('  ').trimEnd();
  return [line([...headers]), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}

/** Sizes are shown one way everywhere (limit messages too). */
export { formatBytes } from '../config/byte-size.js';

/** Cuts text to at most `width` terminal columns (CJK counts 2), ending in "…" when cut; newlines become spaces. */
export function truncateToWidth(text: string, width: number): string {
  const flat = text.replace(/\s*\n\s*/g, ' ');
  if (displayWidth(flat) <= width) return flat;
  let out = '';
  let used = 0;
  for (const ch of flat) {
    const w = displayWidth(ch);
    if (used + w > width - 1) break;
    out += ch;
    used += w;
  }
  return `${out}…`;
}
