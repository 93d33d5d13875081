/**
 * An error no part of emomo expected is a bug, not a failed item: it gets its
 * own exit code (5), one short line on stderr, and its full trace (causes
 * included, secrets masked) in a file in the temp directory whose path the
 * line names. With --verbose the trace is printed instead.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errorMessage } from '../errors.js';

export interface CrashReport {
  /** The one line to print. */
  line: string;
  /** The full trace, for --verbose. */
  trace: string;
  /** Where the trace was written; undefined when it was not (verbose, or the write failed). */
  file?: string;
}

export function crashReport(err: unknown, opts: { redact: (text: string) => string; verbose: boolean; dir?: string }): CrashReport {
  const trace = opts.redact(fullTrace(err));
  const what = opts.redact(`${err instanceof Error ? `${err.name}: ` : ''}${errorMessage(err)}`).split('\n')[0]!.slice(0, 300);
  const head = `unexpected error (a bug in emomo; please report it): ${what}`;
  if (opts.verbose) return { line: head, trace };
  const file = path.join(opts.dir ?? os.tmpdir(), `emomo-error-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
  try {
    fs.writeFileSync(file, `${trace}\n`, { mode: 0o600, flag: 'wx' });
  } catch {
    return { line: `${head}; run again with --verbose for the full trace`, trace };
  }
  return { line: `${head}; full trace in ${file} (or run again with --verbose)`, trace, file };
}

/** The stack of `err` and of every cause behind it. */
function fullTrace(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = err; e !== undefined && e !== null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    parts.push(e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e));
  }
  return parts.join('\nCaused by: ');
}
