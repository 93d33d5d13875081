/**
 * The process's own streams: quiet exit when the reader of stdout goes away
 * (`emomo stats | head -1`), and a usable terminal on every way out (a
 * progress bar hides the cursor; a second Ctrl+C exits without its cleanup).
 */

/** Show the cursor and turn line wrapping back on. */
const RESTORE = '\x1b[?25h\x1b[?7h';

export function restoreTerminal(stream: { isTTY?: boolean; write(text: string): unknown } = process.stderr): void {
  if (stream.isTTY) stream.write(RESTORE);
}

/** Installs the handlers; only the CLI entry point calls this. */
export function guardStreams(): void {
  process.on('exit', () => restoreTerminal());
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      // The reader closed the pipe: what we still had to say has no audience; stop quietly.
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}
