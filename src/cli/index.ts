#!/usr/bin/env node
/** Entry point of the built CLI (bin/emomo loads dist/cli/index.js). */
import { main } from './main.js';
import { guardStreams } from './terminal.js';

guardStreams();
main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`emomo: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
