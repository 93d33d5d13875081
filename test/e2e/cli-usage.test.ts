/** What a new user meets first: help texts, bad flags, bad configs, exit codes. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { buildProgram } from '../../src/cli/main.js';
import { runCli } from '../helpers/cli.js';
import { makeWorkspace } from '../helpers/workspace.js';

test('every command and every option has a description', () => {
  const { program } = buildProgram();
  const commands = [program, ...program.commands.flatMap((c) => [c, ...c.commands])];
  assert.ok(commands.length > 1);
  for (const command of commands) {
    assert.ok(command.description().length > 10, `command ${command.name()} needs a description`);
    for (const option of command.options) {
      assert.ok(option.description.length > 5, `${command.name()} ${option.flags} needs a description`);
    }
  }
});

test('emomo --help and emomo ingest --help exit 0 and describe the options', async () => {
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /ingest/);
  assert.match(top.stdout, /Exit codes/);
  const ingest = await runCli(['ingest', '--help']);
  assert.equal(ingest.code, 0);
  for (const flag of ['--source', '--limit', '--workers', '--embedding', '--force', '--dry-run']) {
    assert.ok(ingest.stdout.includes(flag), flag);
  }
});

test('usage errors exit 2 with a hint', async () => {
  const missing = await runCli(['ingest']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--source/);
  const badNumber = await runCli(['ingest', '--source=staging:sample', '--workers', 'many']);
  assert.equal(badNumber.code, 2);
  assert.match(badNumber.stderr, /positive whole number/);
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
});

test('an unknown source or staging id exits 2 and says what exists', async () => {
  const ws = makeWorkspace();
  try {
    fs.mkdirSync(path.join(ws.staging, 'present'));
    const badKind = await runCli(['ingest', '--source=ftp:x', '--config', ws.config]);
    assert.equal(badKind.code, 2);
    assert.match(badKind.stderr, /staging:<id>/);
    const badId = await runCli(['ingest', '--source=staging:absent', '--config', ws.config]);
    assert.equal(badId.code, 2, badId.stderr);
    assert.match(badId.stderr, /absent/);
  } finally {
    ws.cleanup();
  }
});

test('an invalid config exits 2 naming the file and the key', async () => {
  const ws = makeWorkspace();
  try {
    fs.writeFileSync(ws.config, 'embeddings:\n  - name: x\n    provider: local\n    dimensions: abc\n    collection: c\n');
    const run = await runCli(['ingest', '--source=staging:sample', '--config', ws.config]);
    assert.equal(run.code, 2);
    assert.ok(run.stderr.includes(ws.config), run.stderr);
    assert.match(run.stderr, /embeddings\[0\]\.dimensions/);
    const missing = await runCli(['ingest', '--source=staging:sample', '--config', path.join(ws.dir, 'nope.yaml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.yaml.*not found/);
  } finally {
    ws.cleanup();
  }
});

test('a dimension that disagrees with the stored collection exits 2 with a clear message', async () => {
  const ws = makeWorkspace();
  try {
    fs.mkdirSync(path.join(ws.staging, 'empty', 'images'), { recursive: true });
    fs.writeFileSync(path.join(ws.staging, 'empty', 'manifest.jsonl'), '');
    assert.equal((await runCli(['ingest', '--source=staging:empty', '--config', ws.config])).code, 0);
    fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('dimensions: 256', 'dimensions: 300'));
    const run = await runCli(['ingest', '--source=staging:empty', '--config', ws.config]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /stores 256-dimensional vectors but the embedding config asks for 300/);
  } finally {
    ws.cleanup();
  }
});
