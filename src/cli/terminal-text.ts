/**
 * Text from data (crawled captions and tags, file names, manifest ids,
 * provider errors) is printed to terminals and cron mails. Raw, it could
 * drive the terminal: ESC and CSI sequences recolour or move the cursor, OSC
 * sets the window title or writes links and clipboards, CR overwrites the
 * line already shown, bidi overrides reorder what is read. So every human
 * line emomo prints passes through `terminalText`, which escapes those
 * characters into visible text (`\x1b`, `\r`, `\u202e`). JSON output is not
 * touched: JSON.stringify escapes control characters itself and consumers
 * want the exact value.
 */

/** C0 controls, DEL, C1 controls, line/paragraph separators and bidi controls. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const code = ch.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` with every character that could control a terminal escaped.
 * Newlines are escaped too unless `multiline` (a block of lines emomo built).
 * Idempotent: escaping escaped text changes nothing.
 */
export function terminalText(text: string, opts: { multiline?: boolean } = {}): string {
  return text.replace(opts.multiline ? UNSAFE_BUT_NEWLINE : UNSAFE, escape);
}

/** One value on one line, at most `max` characters (ending in "…" when cut). */
export function terminalValue(text: string, max: number): string {
  const safe = terminalText(text);
  if (safe.length <= max) return safe;
  return `${Array.from(safe.slice(0, max)).slice(0, max - 1).join('')}…`; // whole code points
}
