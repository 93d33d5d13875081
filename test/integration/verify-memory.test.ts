/**
 * verify streams, on every store backend: over a generated library of 20,000
 * memes (rows, vectors, keyword rows and objects) the live JS heap, measured
 * after a full GC at every progress step and every 100 ms in a separate
 * process, grows by far less than holding the object listing or the meme
 * list in memory would take (~1.5 MB for 20k keys); so does `verify
 * --repair` rebuilding every keyword row of the library.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { generateLibrary } from '../helpers/library-generator.js';
import { STORE_BACKENDS } from '../helpers/store-backends.js';
import { projectRoot } from '../helpers/workspace.js';

const MEMES = 20_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-verify-mem-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface ProbeResult {
  found: number;
  remaining?: number;
  memes: number;
  objects: number;
  samples: number;
  growth: number;
}

function probe(db: string, objects: string, repair = false): ProbeResult {
  const script = path.join(projectRoot, 'test', 'helpers', 'verify-heap-probe.ts');
  const args = ['--expose-gc', '--import', 'tsx', script, db, objects, ...(repair ? ['repair'] : [])];
  return JSON.parse(execFileSync(process.execPath, args, { cwd: projectRoot, encoding: 'utf8' })) as ProbeResult;
}

for (const backend of STORE_BACKENDS) {
  test(`${backend.name}: verify over 20k memes keeps the live heap flat, and so does --repair rebuilding every keyword row`, { skip: backend.unavailable }, async () => {
    const lib = generateLibrary({ db: path.join(dir, `${backend.name}.db`), objects: path.join(dir, `objects-${backend.name}`), memes: MEMES, dims: 16 });
    const copy = await backend.copyOf(lib.db);
    try {
      const plain = probe(copy.db, lib.objects);
      assert.deepEqual([plain.found, plain.memes, plain.objects], [0, MEMES, MEMES]);
      assert.ok(plain.samples >= 20, `the heap was sampled during the run (${plain.samples} samples)`);
      assert.ok(plain.growth < 1024 * 1024, `live heap grew by ${(plain.growth / 1024).toFixed(0)} KiB`);

      await copy.dropKeywordRows();
      const repaired = probe(copy.db, lib.objects, true);
      assert.deepEqual([repaired.found, repaired.remaining], [MEMES, 0], 'every keyword row was missing, and rebuilt');
      assert.ok(repaired.growth < 1024 * 1024, `live heap grew by ${(repaired.growth / 1024).toFixed(0)} KiB during the repair`);
    } finally {
      await copy.cleanup();
    }
  });
}
