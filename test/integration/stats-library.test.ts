/** `emomo stats` on a known library: every figure is recomputed here from the staged files. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { createApp } from '../../src/app.js';
import { stats } from '../../src/cli/commands/stats.js';
import { Reporter } from '../../src/cli/reporter.js';
import type { LibraryStats } from '../../src/pipeline/stats-service.js';
import { Capture } from '../helpers/run-ingest.js';
import { buildTwoSources, type SampleLine } from '../helpers/two-sources.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

describe('stats', () => {
  let ws: Workspace;
  let a: SampleLine[];
  let b: SampleLine[];
  before(async () => {
    ws = makeWorkspace();
    ({ a, b } = await buildTwoSources(ws));
    const db = new Database(ws.db);
    const job = db.prepare(
      `INSERT INTO jobs (idempotency_key, source_type, source_id, collection, stage, reason, status) VALUES (?, 'staging:a', ?, 'emomo-local', ?, ?, ?)`,
    );
    job.run('k1', 'x1', 'describe', 'timeout', 'failed');
    job.run('k2', 'x2', 'describe', 'timeout', 'dead');
    job.run('k3', 'x3', 'decode', 'corrupt image', 'dead');
    job.run('k4', 'x4', 'embed', 'old', 'done');
    db.close();
  });
  after(() => ws.cleanup());

  async function run(json: boolean): Promise<{ out: string; err: string }> {
    const app = createApp({ configPath: ws.config });
    const out = new Capture();
    const err = new Capture();
    try {
      assert.equal(await stats({ top: 5 }, app, new Reporter({ json, quiet: false, verbose: false }, err, out)), 0);
    } finally {
      await app.close();
    }
    return { out: out.text, err: err.text };
  }

  const size = (source: string, lines: SampleLine[]) =>
    lines.reduce((n, l) => n + fs.statSync(path.join(ws.staging, source, 'images', l.filename)).size, 0);
  const animated = (lines: SampleLine[]) => lines.filter((l) => l.is_animated).length;

  test('--json numbers match the library', async () => {
    const s = JSON.parse((await run(true)).out) as LibraryStats;
    const union = [...a, ...b.filter((l) => !a.some((x) => x.id === l.id))];
    assert.deepEqual(s.sources, [
      { source: 'staging:a', memes: 6, animated: animated(a), bytes: size('a', a), animated_share: Math.round((animated(a) / 6) * 1000) / 1000 },
      { source: 'staging:b', memes: 5, animated: animated(b), bytes: size('b', b), animated_share: animated(b) / 5 },
    ]);
    assert.deepEqual(s.collections, [
      { collection: 'emomo-local', dims: 256, model: 'fake-embed', vectors: 8 },
      { collection: 'second', dims: 128, model: 'fake-embed', vectors: 6 },
    ]);
    assert.deepEqual(s.memes_by_status, [{ status: 'active', count: 8 }]);
    assert.deepEqual(s.jobs_by_status, [
      { status: 'dead', count: 2 },
      { status: 'done', count: 1 },
      { status: 'failed', count: 1 },
    ]);
    assert.deepEqual(s.top_failure_reasons, [
      { stage: 'describe', reason: 'timeout', count: 2 },
      { stage: 'decode', reason: 'corrupt image', count: 1 },
    ]);
    // Token usage the describer reported, summed: what the descriptions cost.
    assert.deepEqual(s.descriptions_by_model, [
      { vlm_model: 'fake-vlm', prompt_version: 'fake-1', count: 8, prompt_tokens: 800, completion_tokens: 160 },
    ]);
    // Per image, stills and animated memes apart; the fake describer reads one frame and reports 100 prompt tokens.
    const animatedMemes = animated(union);
    assert.ok(animatedMemes > 0 && animatedMemes < 8);
    const costs = s.description_costs.map(({ ms_per_image, extra_ms_vs_still, ...rest }) => {
      assert.ok(ms_per_image !== null && ms_per_image >= 0);
      return rest;
    });
    const common = { vlm_model: 'fake-vlm', prompt_version: 'fake-1', frames_per_image: 1, prompt_tokens_per_image: 100 };
    assert.deepEqual(costs, [
      { ...common, kind: 'still', count: 8 - animatedMemes, measured: 8 - animatedMemes },
      { ...common, kind: 'animated', count: animatedMemes, measured: animatedMemes, extra_prompt_tokens_vs_still: 0 },
    ]);
    assert.deepEqual(s.storage, { memes: 8, bytes: size('a', a) + size('b', union.slice(6)), objects: 8 });
  });

  test('human output is a set of tables on stdout (the result asked for), logs stay on stderr', async () => {
    const { out } = await run(false);
    assert.match(out, /library: 8 memes/);
    assert.match(out, /staging:a\s+6\s+16\.7%/);
    assert.match(out, /second\s+6\s+128\s+fake-embed/);
    assert.match(out, /cost per image/);
    assert.match(out, /fake-vlm\s+fake-1\s+animated\s+\d+\s+1\s+[\d.]+ ms \([+-][\d.]+ ms\)\s+100 \(\+0\)/);
  });
});
