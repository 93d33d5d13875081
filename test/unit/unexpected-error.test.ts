/**
 * An error no code expected (a bug) is not "some items failed": it exits 5
 * with one line naming the error and the file holding its full trace, which
 * is masked like every other message; --verbose prints the trace instead.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { CommandContext, exitCodeFor } from '../../src/cli/context.js';
import { AbortedError, ConfigError, ExitCode, ProviderError } from '../../src/errors.js';
import { makeWorkspace } from '../helpers/workspace.js';

const ws = makeWorkspace();
process.on('exit', () => ws.cleanup());

async function runBody(verbose: boolean, body: () => Promise<number>): Promise<{ code: number; stderr: string }> {
  const context = new CommandContext(() => ({ config: ws.config, json: false, quiet: false, verbose }));
  const write = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    await context.run(body);
  } finally {
    process.stderr.write = write;
  }
  return { code: context.exitCode, stderr };
}

const bug = () => {
  const err = new TypeError("Cannot read properties of undefined (reading 'md5') for key sk-abcdefghijklmnop");
  err.cause = new Error('deeper cause');
  throw err;
};

test('exit 5, one line, and the full masked trace (causes included) in the file it names', async () => {
  const { code, stderr } = await runBody(false, async () => bug());
  assert.equal(code, ExitCode.internal);
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, /unexpected error \(a bug in emomo; please report it\): TypeError: Cannot read properties of undefined \(reading 'md5'\) for key sk-\*\*\*; full trace in (\S+\.log) \(or run again with --verbose\)/);
  const file = /full trace in (\S+\.log)/.exec(lines[0]!)![1]!;
  const trace = fs.readFileSync(file, 'utf8');
  fs.rmSync(file);
  assert.match(trace, /TypeError: Cannot read properties/);
  assert.match(trace, /\n\s+at .*unexpected-error\.test\.ts/);
  assert.match(trace, /Caused by: Error: deeper cause/);
  assert.doesNotMatch(trace, /abcdefghijklmnop/);
});

test('--verbose prints the trace instead of writing a file', async () => {
  const { code, stderr } = await runBody(true, async () => bug());
  assert.equal(code, ExitCode.internal);
  assert.match(stderr, /unexpected error \(a bug in emomo; please report it\): TypeError/);
  assert.doesNotMatch(stderr, /full trace in/);
  assert.match(stderr, /\n\s+at .*unexpected-error\.test\.ts/);
});

test('expected errors keep their codes: provider 1, aborted 3, config 2; anything else is a bug', () => {
  assert.equal(exitCodeFor(new ProviderError('s3', 'S3 LIST failed')), ExitCode.partial);
  assert.equal(exitCodeFor(new AbortedError('interrupted')), ExitCode.aborted);
  assert.equal(exitCodeFor(new ConfigError('c.yaml', 'vlm.timeout', 'bad')), ExitCode.usage);
  assert.equal(exitCodeFor(new RangeError('index out of range')), ExitCode.internal);
  assert.equal(exitCodeFor('a thrown string'), ExitCode.internal);
});
