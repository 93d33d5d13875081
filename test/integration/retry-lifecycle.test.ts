/**
 * The failure lifecycle end to end, in-process, with a clock the test drives:
 * ingest with ~30% transient failures, then `retry-pending` until nothing is
 * due. Backoff delays, attempts, dead permanent failures, --reason,
 * --include-dead, vanished files and the backfill of memes without a vector.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { createApp, type AppOverrides } from '../../src/app.js';
import { ingest } from '../../src/cli/commands/ingest.js';
import { retryPendingCommand, type RetryFlags } from '../../src/cli/commands/retry-pending.js';
import type { RunTime } from '../../src/cli/item-processor.js';
import { Reporter } from '../../src/cli/reporter.js';
import { backoffCeiling, defaultFailurePolicy } from '../../src/resilience/backoff.js';
import { sleep } from '../../src/resilience/clock.js';
import type { RetryReport } from '../../src/pipeline/retry-service.js';
import { FakeDescriber, FakeEmbedder } from '../helpers/fakes.js';
import { writeGeneratedStaging } from '../helpers/generated-images.js';
import { Capture } from '../helpers/run-ingest.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

interface JobRow {
  source_id: string;
  stage: string;
  status: string;
  attempts: number;
  next_retry_at: string | null;
  reason: string;
}

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
/** With random() = 0.5 the equal-jitter delay is exactly 3/4 of the ceiling. */
const expectedDelay = (attempt: number) => Math.round(backoffCeiling(attempt, defaultFailurePolicy) * 0.75);

describe('failure lifecycle and retry-pending', () => {
  let ws: Workspace;
  let t: number;
  const time: RunTime = { clock: { now: () => t, sleep }, random: () => 0.5 };
  let describer: FakeDescriber;
  let embedder: FakeEmbedder;
  const overrides = (): AppOverrides => ({ describer, embedder: () => embedder });

  beforeEach(() => {
    ws = makeWorkspace();
    t = T0;
    describer = new FakeDescriber();
    embedder = new FakeEmbedder(256);
  });
  afterEach(() => ws.cleanup());

  async function runIngest(source = 'staging:gen') {
    const app = createApp({ configPath: ws.config }, overrides());
    const out = new Capture();
    try {
      const code = await ingest({ source, force: false, dryRun: false }, app, reporter(out), new AbortController().signal, time);
      return { code, summary: JSON.parse(out.text) };
    } finally {
      await app.close();
    }
  }

  async function retry(flags: Partial<RetryFlags> = {}, o: AppOverrides = overrides()) {
    const app = createApp({ configPath: ws.config }, o);
    const out = new Capture();
    try {
      const code = await retryPendingCommand({ includeDead: false, ...flags }, app, reporter(out), new AbortController().signal, time);
      return { code, report: JSON.parse(out.text) as RetryReport };
    } finally {
      await app.close();
    }
  }

  function jobs(): Map<string, JobRow> {
    const db = new Database(ws.db, { readonly: true });
    const rows = db.prepare('SELECT source_id, stage, status, attempts, next_retry_at, reason FROM jobs').all() as JobRow[];
    db.close();
    return new Map(rows.map((r) => [r.source_id, r]));
  }

  function count(sql: string): number {
    const db = new Database(ws.db, { readonly: true });
    sqliteVec.load(db);
    const n = (db.prepare(sql).get() as { n: number }).n;
    db.close();
    return n;
  }

  test('transient failures heal through retry-pending with the policy backoff; permanent ones are dead at once', async () => {
    // 20 images: items 0,3,6,… fail transiently (describe or embed) a planned number of times.
    const plan = new Map<string, { stage: 'describe' | 'embed'; failures: number }>();
    const items = await writeGeneratedStaging(ws.staging, 'gen', 20, (i) => {
      if (i % 3 !== 0) return [];
      const p = { stage: i % 2 === 0 ? ('describe' as const) : ('embed' as const), failures: 1 + (i % 4) };
      plan.set(`g${i}`, p);
      return [`flaky${i}x`];
    });
    const dir = path.join(ws.staging, 'gen');
    fs.writeFileSync(path.join(dir, 'images', 'bad.png'), 'this is not an image');
    fs.appendFileSync(path.join(dir, 'manifest.jsonl'), JSON.stringify({ id: 'bad', filename: 'bad.png', category: '坏图' }) + '\n');

    const seen = new Map<string, number>();
    const flaky = (tagText: string, stage: 'describe' | 'embed'): boolean => {
      const id = /flaky(\d+)x/.exec(tagText)?.[1];
      if (id === undefined) return false;
      const p = plan.get(`g${id}`)!;
      if (p.stage !== stage) return false;
      const n = (seen.get(`${stage}${id}`) ?? 0) + 1;
      seen.set(`${stage}${id}`, n);
      return n <= p.failures;
    };
    describer.failWhen = (input) => flaky(input.tags.join(' '), 'describe');
    embedder.failWhen = (text) => flaky(text, 'embed');

    const first = await runIngest();
    assert.equal(first.code, 1);
    assert.equal(first.summary.failed, plan.size + 1);
    let rows = jobs();
    assert.deepEqual(
      [rows.get('bad')!.status, rows.get('bad')!.attempts, rows.get('bad')!.stage, rows.get('bad')!.next_retry_at],
      ['dead', 1, 'decode', null],
    );
    for (const [id, p] of plan) {
      const job = rows.get(id)!;
      assert.deepEqual([job.status, job.attempts, job.stage], ['failed', 1, p.stage]);
      assert.equal(Date.parse(job.next_retry_at!) - t, expectedDelay(1));
    }

    // Nothing is due before the backoff has passed.
    const early = await retry();
    assert.equal(early.report.jobs.length, 0);

    const delays = new Map<string, number[]>();
    for (let round = 0; round < 10; round++) {
      const waiting = [...jobs().values()].filter((j) => j.status === 'failed');
      if (waiting.length === 0) break;
      t = Math.min(...waiting.map((j) => Date.parse(j.next_retry_at!)));
      const before = jobs();
      const { report } = await retry();
      assert.ok(report.jobs.length > 0, 'the earliest job is due');
      for (const row of report.jobs) {
        const prev = before.get(row.source_id)!;
        assert.ok(Date.parse(prev.next_retry_at!) <= t, `${row.source_id} was due`);
        if (row.outcome === 'failed') {
          assert.equal(row.attempts, prev.attempts + 1);
          const delay = Date.parse(row.next_retry_at!) - t;
          assert.equal(delay, expectedDelay(row.attempts), `backoff after attempt ${row.attempts}`);
          delays.set(row.source_id, [...(delays.get(row.source_id) ?? []), delay]);
        } else {
          assert.equal(row.outcome, 'added');
        }
      }
    }

    rows = jobs();
    for (const [id, p] of plan) {
      const job = rows.get(id)!;
      assert.equal(job.status, 'done', `${id} healed`);
      assert.equal(job.attempts, p.failures, `${id} attempts`);
      if (p.failures >= 2) assert.deepEqual(delays.get(id), Array.from({ length: p.failures - 1 }, (_, k) => expectedDelay(k + 2)));
    }
    assert.equal(rows.get('bad')!.status, 'dead', 'a permanent failure is never retried without --include-dead');
    assert.equal(rows.get('bad')!.attempts, 1);
    assert.equal(count('SELECT count(*) n FROM memes'), items.length);
    assert.equal(count('SELECT count(*) n FROM meme_vectors'), items.length);
    assert.equal(count('SELECT count(*) n FROM vec_emomo_dlocal'), items.length);
    // An embed failure resumes after describe: its paid description is reused.
    const describeCalls = items.length + [...plan.values()].filter((p) => p.stage === 'describe').reduce((a, p) => a + p.failures, 0);
    assert.equal(describer.calls, describeCalls);
    assert.equal(count('SELECT count(*) n FROM item_claims'), 0, 'no claim is left behind');
  });

  test('a job whose file vanished fails again with a clear reason, then dies after max_attempts', async () => {
    await writeGeneratedStaging(ws.staging, 'gen', 2, (i) => (i === 0 ? ['gone'] : []));
    describer.failWhen = (input) => input.tags.includes('gone');
    await runIngest();
    fs.rmSync(path.join(ws.staging, 'gen', 'images', 'g00000.png'));
    describer.failWhen = undefined;
    for (let attempt = 2; attempt <= defaultFailurePolicy.maxAttempts; attempt++) {
      t += 2 * 60 * 60 * 1000;
      const { report, code } = await retry();
      assert.equal(code, 1);
      assert.equal(report.jobs.length, 1);
      const row = report.jobs[0]!;
      assert.match(row.reason!, /file not found: .*g00000\.png/);
      assert.equal(row.stage, 'read');
      assert.equal(row.outcome, attempt < defaultFailurePolicy.maxAttempts ? 'failed' : 'dead');
    }
    assert.equal(jobs().get('g0')!.status, 'dead');
  });

  test('staging files missing at ingest are retried, and added, once they arrive', async () => {
    await writeGeneratedStaging(ws.staging, 'gen', 6);
    const images = path.join(ws.staging, 'gen', 'images');
    const away = path.join(ws.dir, 'away');
    fs.mkdirSync(away);
    const late = ['g00001.png', 'g00002.png', 'g00004.png'];
    for (const name of late) fs.renameSync(path.join(images, name), path.join(away, name));

    const first = await runIngest();
    assert.equal(first.code, 1);
    assert.deepEqual([first.summary.added, first.summary.failed], [3, 3]);
    for (const [id, row] of jobs()) {
      assert.deepEqual([row.status, row.stage], ['failed', 'read'], id);
      assert.match(row.reason, /^line \d: file not found: images\/g0000[124]\.png$/);
    }

    for (const name of late) fs.renameSync(path.join(away, name), path.join(images, name));
    t += 60 * 60 * 1000;
    const { report, code } = await retry();
    assert.equal(code, 0);
    assert.deepEqual(report.jobs.map((j) => [j.source_id, j.outcome]).sort(), [['g1', 'added'], ['g2', 'added'], ['g4', 'added']]);
    assert.ok([...jobs().values()].every((j) => j.status === 'done'));
    assert.equal(count('SELECT count(*) n FROM memes'), 6);
    // The category and tags of the manifest line were kept with the job.
    assert.equal(count("SELECT count(*) n FROM memes WHERE category = '熊猫头'"), 6);
  });

  test('--reason picks jobs by reason, --include-dead revives dead ones', async () => {
    await writeGeneratedStaging(ws.staging, 'gen', 4, (i) => [`r${i}x`]);
    embedder.failWhen = (text) => /r[01]x/.test(text);
    describer.failWhen = (input) => input.tags.includes('r2x');
    await runIngest();
    embedder.failWhen = undefined;
    describer.failWhen = undefined;
    t += 60 * 60 * 1000;

    const onlyEmbed = await retry({ reason: 'EMBEDDER refused' });
    assert.deepEqual(onlyEmbed.report.jobs.map((j) => j.source_id).sort(), ['g0', 'g1']);
    assert.ok(onlyEmbed.report.jobs.every((j) => j.outcome === 'added'));
    assert.equal(jobs().get('g2')!.status, 'failed');

    // Make g2 dead by hand (as if out of attempts): only --include-dead brings it back.
    const db = new Database(ws.db);
    db.prepare("UPDATE jobs SET status = 'dead', next_retry_at = NULL WHERE source_id = 'g2'").run();
    db.close();
    assert.equal((await retry()).report.jobs.length, 0);
    const revived = await retry({ includeDead: true });
    assert.deepEqual(revived.report.jobs.map((j) => [j.source_id, j.was, j.outcome]), [['g2', 'dead', 'added']]);
    assert.equal(count('SELECT count(*) n FROM memes'), 4);
  });

  test('retry-pending embeds memes that have no vector in the target collection, without the describer', async () => {
    await writeGeneratedStaging(ws.staging, 'gen', 5);
    await runIngest();
    describer.calls = 0;
    const second = new FakeEmbedder(128);
    const o: AppOverrides = { describer, embedder: (e) => (e.name === 'second' ? second : embedder) };
    const { report, code } = await retry({ embedding: 'second' }, o);
    assert.equal(code, 0);
    assert.equal(report.backfill.embedded, 5);
    assert.equal(describer.calls, 0);
    assert.equal(count("SELECT count(*) n FROM meme_vectors WHERE collection = 'second'"), 5);
    assert.equal((await retry({ embedding: 'second' }, o)).report.backfill.embedded, 0);
  });
});

function reporter(out: Capture): Reporter {
  return new Reporter({ json: true, quiet: true, verbose: false }, new Capture(), out);
}
