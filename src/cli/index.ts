#!/usr/bin/env node
/** Entry point of the built CLI (bin/emomo loads dist/cli/index.js). */
import { ExitCode } from '../errors.js';
import { makeRedactor } from '../redact.js';
import { crashReport } from './crash-report.js';
import { main } from './main.js';
import { guardStreams } from './terminal.js';

guardStreams();
main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Outside any command (no app, so no configured secrets to mask beyond the common shapes).
    const verbose = process.argv.includes('--verbose');
    const report = crashReport(err, { redact: makeRedactor([]), verbose });
    process.stderr.write(`emomo: ${report.line}\n${verbose ? `${report.trace}\n` : ''}`);
    process.exitCode = ExitCode.internal;
  },
);
