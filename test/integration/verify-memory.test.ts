/**
 * verify streams: over a generated library of 20,000 memes (rows, vec0 rows,
 * FTS rows and objects) the live JS heap, measured after a full GC at every
 * progress step in a separate process, grows by far less than holding the
 * object listing or the meme list in memory would take (~1.5 MB for 20k keys).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { generateLibrary } from '../helpers/library-generator.js';
import { projectRoot } from '../helpers/workspace.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-verify-mem-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('verify over 20k memes keeps the live heap flat', () => {
  const lib = generateLibrary({ db: path.join(dir, 'emomo.db'), objects: path.join(dir, 'objects'), memes: 20_000, dims: 16 });
  const probe = path.join(projectRoot, 'test', 'helpers', 'verify-heap-probe.ts');
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', probe, lib.db, lib.objects], {
    cwd: projectRoot,
    encoding: 'utf8',
  });
  const result = JSON.parse(out) as { found: number; memes: number; objects: number; samples: number; growth: number };
  assert.equal(result.found, 0);
  assert.equal(result.memes, 20_000);
  assert.equal(result.objects, 20_000);
  assert.ok(result.samples >= 20, `progress was reported during the listing (${result.samples} samples)`);
  assert.ok(result.growth < 1024 * 1024, `live heap grew by ${(result.growth / 1024).toFixed(0)} KiB`);
});
