/**
 * The ingest command as operators run it: a separate process, the real
 * offline providers (OCR + lexical embedder), real files, real signals.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { runCli, startCli, waitFor } from '../helpers/cli.js';
import { libraryCounts } from '../helpers/library.js';
import { copySample, listObjects, makeWorkspace, realImagesDir, type Workspace } from '../helpers/workspace.js';

interface Summary {
  added: number;
  reused: number;
  skipped: number;
  failed: number;
  failures: Array<{ source_id: string; stage: string; reason: string }>;
  duration_ms: number;
  aborted?: string;
}

function libraryRows(ws: Workspace) {
  const c = libraryCounts(ws, ['memes', 'vectors', 'vec', 'fts', 'objects']);
  return { memes: c.memes, vectors: c.vectors, vecRows: c.vec, fts: c.fts, objects: c.objects };
}

/** What the fixture README says ingest must do with each file that fails. */
const EXPECTED_FAILURES: Record<string, RegExp> = {
  'truncated.jpg': /corrupt or truncated/,
  'truncated.png': /corrupt or truncated/,
  'corrupt-header.jpg': /corrupt image/,
  'giant-image.jpg': /280\.0 megapixels, above the limit/,
  '8bit_depth.tiff': /unsupported format: TIFF/,
  'relax.jp2': /unsupported format: JPEG 2000/,
  'circle.svg': /unsupported format: SVG/,
  'pitm.avif': /unsupported format: AVIF/,
};
const ANIMATED = ['animated-loop-3.gif', 'rotating-squares.gif', 'animated-loop-3.webp', 'rotating-squares.webp', 'big-height.webp'];

describe('emomo ingest (spawned CLI, offline providers)', () => {
  let ws: Workspace;
  let sampleSize: number;
  before(() => {
    ws = makeWorkspace();
    sampleSize = copySample(ws);
  });
  after(() => ws.cleanup());

  test('the sample set is added in full, then skipped in full on a second run', async () => {
    const first = await runCli(['ingest', '--source=staging:sample', '--json', '--config', ws.config]);
    assert.equal(first.code, 0, first.stderr);
    const summary = JSON.parse(first.stdout) as Summary;
    assert.deepEqual(Object.keys(summary), ['added', 'reused', 'skipped', 'failed', 'failures', 'duration_ms']);
    assert.equal(summary.added, sampleSize);
    assert.equal(summary.failed, 0);
    const counts = libraryRows(ws);
    assert.deepEqual(counts, { memes: sampleSize, vectors: sampleSize, vecRows: sampleSize, fts: sampleSize, objects: sampleSize });

    const second = await runCli(['ingest', '--source', 'staging:sample', '--json', '--config', ws.config]);
    assert.equal(second.code, 0, second.stderr);
    const again = JSON.parse(second.stdout) as Summary;
    assert.deepEqual([again.added, again.reused, again.skipped, again.failed], [0, 0, sampleSize, 0]);
    // No provider was touched: the OCR models were never even loaded.
    assert.ok(second.peakRssMb < first.peakRssMb, `${second.peakRssMb} MB vs ${first.peakRssMb} MB`);
  });
});

describe('real-world images', () => {
  const files = fs.readdirSync(realImagesDir).filter((f) => f !== 'README.md');

  function checkOutcomes(summary: Summary, idOf: (file: string) => string) {
    const failedIds = new Map(summary.failures.map((f) => [f.source_id, f]));
    for (const [file, reason] of Object.entries(EXPECTED_FAILURES)) {
      const failure = failedIds.get(idOf(file));
      assert.ok(failure, `${file} should fail`);
      assert.equal(failure.stage, 'decode');
      assert.match(failure.reason, reason, file);
    }
    assert.equal(summary.failed, Object.keys(EXPECTED_FAILURES).length, JSON.stringify(summary.failures));
    assert.equal(summary.added, files.length - summary.failed);
  }

  test('as a dir: source, each file gets its outcome; exit 1; the 280-megapixel bomb costs no memory', async () => {
    const ws = makeWorkspace();
    const withoutBomb = makeWorkspace();
    try {
      const run = await runCli(['ingest', `--source=dir:${realImagesDir}`, '--json', '--config', ws.config]);
      assert.equal(run.code, 1, run.stderr);
      checkOutcomes(JSON.parse(run.stdout) as Summary, (file) => file);

      // Decoding giant-image.jpg would need 280 M pixels x 3 bytes = 800 MB. It is refused from
      // its header, so the run with it peaks no higher than the same run without it. (The
      // absolute peak is dominated by the OCR engine, see BENCHMARKS.md.)
      const dir = path.join(withoutBomb.dir, 'no-bomb');
      fs.mkdirSync(dir);
      for (const f of files.filter((f) => f !== 'giant-image.jpg')) fs.copyFileSync(path.join(realImagesDir, f), path.join(dir, f));
      const baseline = await runCli(['ingest', `--source=dir:${dir}`, '--json', '--config', withoutBomb.config]);
      assert.equal(baseline.code, 1);
      assert.ok(run.peakRssMb > 0 && baseline.peakRssMb > 0);
      assert.ok(run.peakRssMb < baseline.peakRssMb + 100, `with bomb ${run.peakRssMb} MB, without ${baseline.peakRssMb} MB`);
      assert.ok(run.peakRssMb < 900, `peak RSS ${run.peakRssMb} MB`);
      const db = new Database(ws.db, { readonly: true });
      const rows = db.prepare('SELECT source_id, is_animated, frames, width, height FROM memes').all() as Array<{
        source_id: string;
        is_animated: number;
        frames: number;
      }>;
      db.close();
      const animated = rows.filter((r) => r.is_animated === 1).map((r) => r.source_id).sort();
      assert.deepEqual(animated, [...ANIMATED].sort());
      assert.equal(rows.find((r) => r.source_id === 'Crash_test.gif')?.is_animated, 0);
    } finally {
      ws.cleanup();
      withoutBomb.cleanup();
    }
  });

  test('as a staging manifest with lying extensions, the same outcomes by magic bytes', async () => {
    const ws = makeWorkspace();
    try {
      const dir = path.join(ws.staging, 'real', 'images');
      fs.mkdirSync(dir, { recursive: true });
      const lines = files.map((file, i) => {
        // Every file is stored under a misleading .png name: the format must come from the bytes.
        const filename = `f${i}.png`;
        fs.copyFileSync(path.join(realImagesDir, file), path.join(dir, filename));
        return JSON.stringify({ id: file, filename, category: '测试', tags: ['fixture'], format: 'png' });
      });
      fs.writeFileSync(path.join(ws.staging, 'real', 'manifest.jsonl'), lines.join('\n') + '\n');
      const run = await runCli(['ingest', '--source=staging:real', '--json', '--config', ws.config]);
      assert.equal(run.code, 1, run.stderr);
      checkOutcomes(JSON.parse(run.stdout) as Summary, (file) => file);
    } finally {
      ws.cleanup();
    }
  });
});

describe('bad input loses nothing', () => {
  test('malformed lines, a duplicate id, path traversal and a missing file are reported; valid items ingested', async () => {
    const ws = makeWorkspace();
    try {
      copySample(ws, 'bad', 3);
      const dir = path.join(ws.staging, 'bad');
      const valid = fs.readFileSync(path.join(dir, 'manifest.jsonl'), 'utf8').trim().split('\n');
      const firstId = (JSON.parse(valid[0]!) as { id: string }).id;
      const manifest = [
        valid[0],
        '{"id": "broken", "filename": ',
        valid[1],
        JSON.stringify({ id: 'escape', filename: '../../etc/passwd' }),
        JSON.stringify({ id: 'absolute', filename: '/etc/passwd' }),
        JSON.stringify({ id: firstId, filename: JSON.parse(valid[2]!).filename }),
        JSON.stringify({ id: 'missing', filename: 'missing.png' }),
        valid[2],
      ];
      fs.writeFileSync(path.join(dir, 'manifest.jsonl'), manifest.join('\n') + '\n');
      const run = await runCli(['ingest', '--source=staging:bad', '--json', '--config', ws.config]);
      assert.equal(run.code, 1, run.stderr);
      const summary = JSON.parse(run.stdout) as Summary;
      assert.equal(summary.added, 3);
      const reasons = summary.failures.map((f) => `${f.source_id}|${f.stage}|${f.reason}`).join('\n');
      assert.match(reasons, /line 2\|source\|line 2: .*JSON/i);
      assert.match(reasons, /escape\|source\|.*escapes images/);
      assert.match(reasons, /absolute\|source\|/);
      assert.match(reasons, /line 6\|source\|.*duplicate id/);
      assert.match(reasons, /missing\|read\|.*not found/);
      assert.equal(summary.failed, 5);
      assert.ok(!run.stderr.includes('root:x:0:0'), 'nothing read outside the staging folder');
    } finally {
      ws.cleanup();
    }
  });
});

describe('interruptions', () => {
  test('kill -9 mid-run, then a re-run: every item ingested exactly once', async () => {
    const ws = makeWorkspace();
    try {
      const n = copySample(ws, 'sample', 24);
      const run = startCli(['ingest', '--source=staging:sample', '--workers', '4', '--config', ws.config]);
      await waitFor(() => listObjects(ws.objects).length >= 3, 60_000, 'first objects');
      await new Promise((r) => setTimeout(r, Math.random() * 400));
      run.child.kill('SIGKILL');
      const killed = await run.done;
      assert.equal(killed.signal, 'SIGKILL');
      const before = libraryRows(ws);
      assert.ok(before.memes < n, 'the kill landed mid-run');

      const rerun = await runCli(['ingest', '--source=staging:sample', '--json', '--config', ws.config]);
      assert.equal(rerun.code, 0, rerun.stderr);
      const summary = JSON.parse(rerun.stdout) as Summary;
      assert.equal(summary.added + summary.skipped, n);
      assert.deepEqual(libraryRows(ws), { memes: n, vectors: n, vecRows: n, fts: n, objects: n });
    } finally {
      ws.cleanup();
    }
  });

  test('SIGINT stops taking items, finishes in-flight ones, prints the summary and exits 3', async () => {
    const ws = makeWorkspace();
    try {
      const n = copySample(ws, 'sample', 40);
      const run = startCli(['ingest', '--source=staging:sample', '--workers', '2', '--json', '--config', ws.config]);
      await waitFor(() => listObjects(ws.objects).length >= 2, 60_000, 'first objects');
      run.child.kill('SIGINT');
      const stopped = await run.done;
      assert.equal(stopped.code, 3, stopped.stderr);
      const summary = JSON.parse(stopped.stdout) as Summary;
      assert.match(summary.aborted ?? '', /SIGINT/);
      assert.ok(summary.added < n);
      const counts = libraryRows(ws);
      assert.equal(counts.memes, summary.added, 'every in-flight item finished or was undone');
      assert.equal(counts.objects, counts.memes);

      const rerun = await runCli(['ingest', '--source=staging:sample', '--json', '--config', ws.config]);
      assert.equal(rerun.code, 0);
      assert.equal((JSON.parse(rerun.stdout) as Summary).added, n - summary.added);
    } finally {
      ws.cleanup();
    }
  });
});
