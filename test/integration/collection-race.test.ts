/**
 * Two ingests started together on a new library both create the collection:
 * exactly one creates it, the other finds it (no UNIQUE failure, no bug exit).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const openStore = fileURLToPath(new URL('../../src/store/open-store.ts', import.meta.url));

// Each process opens the database (migrations), says it is ready, and asks for the collection when told to go.
const script = `
const { storeOpener } = await import(${JSON.stringify(openStore)});
const store = storeOpener({ kind: 'sqlite', path: process.argv[1] })();
process.stdout.write('ready\\n');
process.stdin.once('data', async () => {
  await store.ensureCollection('emomo-local', 256, 'local-lexical-v1');
  await store.close();
  process.exit(0);
});
`;

interface Racer {
  ready: Promise<void>;
  go(): void;
  done: Promise<{ code: number | null; err: string }>;
}

function racer(db: string): Racer {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script, db]);
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  return {
    ready: new Promise((resolve) => child.stdout.once('data', () => resolve())),
    go: () => child.stdin.write('go\n'),
    done: new Promise((resolve) => child.on('close', (code) => resolve({ code, err }))),
  };
}

test('processes creating one collection at the same moment all succeed, and it exists once', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-collection-race-'));
  try {
    for (let round = 0; round < 3; round++) {
      const db = path.join(dir, `library-${round}.db`);
      const racers = [0, 1, 2, 3].map(() => racer(db));
      await Promise.all(racers.map((r) => r.ready));
      for (const r of racers) r.go();
      for (const r of await Promise.all(racers.map((r) => r.done))) assert.equal(r.code, 0, r.err);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
