/**
 * Errors keep their information, and the run decides well what to do with
 * them: a failed undo step is logged with what it left behind (and verify
 * finds it); repair failures keep their reasons; a storage that refuses every
 * write stops the run before more descriptions are paid for; a transient
 * fault streak sends an item back to the queue instead of failing it.
 * Real SQLite and local object store; counting fakes for the providers.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { createApp, type AppOverrides } from '../../src/app.js';
import { ingest } from '../../src/cli/commands/ingest.js';
import { verify } from '../../src/cli/commands/verify.js';
import { Reporter } from '../../src/cli/reporter.js';
import { ProviderError } from '../../src/errors.js';
import type { DescribeInput, Description } from '../../src/ports.js';
import type { RunSummary } from '../../src/pipeline/outcome.js';
import type { VerifyReport } from '../../src/pipeline/verify-service.js';
import { sleep } from '../../src/resilience/clock.js';
import { LocalStorage } from '../../src/storage/local-storage.js';
import { FakeDescriber, FakeEmbedder } from '../helpers/fakes.js';
import { libraryCounts } from '../helpers/library.js';
import { Capture, runIngest } from '../helpers/run-ingest.js';
import { copySample, listObjects, makeWorkspace, type Workspace } from '../helpers/workspace.js';

async function runVerify(ws: Workspace, overrides: AppOverrides, repair: boolean): Promise<{ report: VerifyReport; text: string }> {
  const app = createApp({ configPath: ws.config }, overrides);
  const json = new Capture();
  const human = new Capture();
  try {
    await verify({ repair, deep: false, force: false, examples: 3 }, app, new Reporter({ json: true, quiet: true, verbose: false }, new Capture(), json));
    await verify({ repair: false, deep: false, force: false, examples: 3 }, app, new Reporter({ json: false, quiet: false, verbose: false }, human, human));
    return { report: JSON.parse(json.text) as VerifyReport, text: human.text };
  } finally {
    await app.close();
  }
}

/** Ingest with the job lifecycle's random source fixed at 0: requeued items come back at once. */
async function ingestNow(ws: Workspace, overrides: AppOverrides): Promise<{ code: number; summary: RunSummary; log: string }> {
  const app = createApp({ configPath: ws.config }, overrides);
  const out = new Capture();
  const err = new Capture();
  try {
    const reporter = new Reporter({ json: true, quiet: false, verbose: false }, err, out);
    const code = await ingest({ source: 'staging:sample', force: false, dryRun: false }, app, reporter, new AbortController().signal, {
      clock: { now: () => Date.now(), sleep },
      random: () => 0,
    });
    return { code, summary: JSON.parse(out.text) as RunSummary, log: err.text };
  } finally {
    await app.close();
  }
}

/** A describer whose calls for images tagged `tag` fail `times` times in a row with a retryable provider error. */
class StreakDescriber extends FakeDescriber {
  failures = 0;
  constructor(
    private readonly tag: string,
    private readonly times: number,
  ) {
    super();
  }
  override async describe(input: DescribeInput): Promise<Description> {
    if (input.tags.includes(this.tag) && this.failures < this.times) {
      this.failures++;
      throw new ProviderError('openai', 'vlm "openai" (model m): HTTP 503: overloaded', 503, true);
    }
    return super.describe(input);
  }
}

describe('errors keep their information', () => {
  let ws: Workspace;
  beforeEach(() => (ws = makeWorkspace()));
  afterEach(() => ws.cleanup());

  test('a failed undo step is logged with the object it left behind; verify finds it and repair removes it', async () => {
    copySample(ws, 'sample', 4);
    const embedder = new FakeEmbedder(256);
    embedder.failWhen = () => true; // every item fails after its object was stored
    class StuckDeletes extends LocalStorage {
      override async delete(): Promise<void> {
        throw Object.assign(new Error('EBUSY: resource busy or locked'), { code: 'EBUSY' });
      }
    }
    const storage = new StuckDeletes(ws.objects);
    const run = await runIngest(ws, { source: 'staging:sample' }, { describer: new FakeDescriber(), embedder: () => embedder, storage });
    assert.equal(run.summary.failed, 4);
    const left = listObjects(ws.objects);
    assert.equal(left.length, 4);
    const lines = run.log.split('\n').filter((l) => l.includes('undo failed'));
    assert.equal(lines.length, 4, run.log);
    for (const key of left) assert.ok(lines.some((l) => l.includes(`object ${key} in local:`) && l.includes('EBUSY')), `no log line names ${key}`);

    const found = await runVerify(ws, {}, false);
    assert.deepEqual(found.report.issues.map((i) => [i.kind, i.count]), [['object_without_meme', 4]]);
    const repaired = await runVerify(ws, {}, true);
    assert.equal(repaired.report.consistent, true);
    assert.equal(listObjects(ws.objects).length, 0);
  });

  test('repair failures keep their reasons in the report, for objects and leftover temporary files alike', async () => {
    copySample(ws, 'sample', 2);
    await runIngest(ws, { source: 'staging:sample' }, { describer: new FakeDescriber(), embedder: () => new FakeEmbedder(256) });
    const shard = path.join(ws.objects, 'ab');
    fs.mkdirSync(shard, { recursive: true });
    const orphan = path.join(shard, `${'ab'.repeat(16)}.png`);
    const leftover = path.join(shard, '.tmp-0123456789ab');
    fs.writeFileSync(orphan, 'x');
    fs.writeFileSync(leftover, 'x');
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    fs.utimesSync(leftover, old, old);
    class ReadOnly extends LocalStorage {
      override async delete(): Promise<void> {
        throw new Error('EROFS: read-only file system, unlink');
      }
      override async removeLeftover(): Promise<void> {
        throw new Error('EPERM: operation not permitted, unlink');
      }
    }
    const { report, text } = await runVerify(ws, { storage: new ReadOnly(ws.objects) }, true);
    const byKind = Object.fromEntries((report.repaired ?? []).map((a) => [a.kind, a]));
    assert.equal(byKind.object_without_meme?.failed, 1);
    assert.match(byKind.object_without_meme!.examples![0]!, /^ab\/ab.*\.png: EROFS: read-only file system/);
    assert.equal(byKind.leftover_temp_file?.failed, 1);
    assert.match(byKind.leftover_temp_file!.examples![0]!, /^ab\/\.tmp-0123456789ab: EPERM: operation not permitted/);
    assert.equal(report.consistent, false);
    assert.doesNotMatch(text, /could not repair/, 'a plain verify repairs nothing');
  });

  test('a storage that refuses every write stops the run (exit 3) before more descriptions are paid for', async () => {
    copySample(ws, 'sample', 30);
    const describer = new FakeDescriber();
    class Denied extends LocalStorage {
      override async put(): Promise<never> {
        throw new ProviderError('s3', 'S3 PUT ab/ab.png failed: AccessDenied (HTTP 403): Access Denied', 403, false, { code: 'AccessDenied' });
      }
    }
    const run = await runIngest(ws, { source: 'staging:sample', workers: 2 }, { describer, embedder: () => new FakeEmbedder(256), storage: new Denied(ws.objects) });
    assert.equal(run.code, 3);
    assert.match(run.summary.aborted ?? '', /object storage local:.* refuses writes \(S3 PUT .*AccessDenied \(HTTP 403\).*\); stopping the run before more descriptions are paid for/);
    assert.equal(run.summary.failed, 0, 'not the items\' fault: nothing recorded');
    assert.ok(describer.calls <= 4, `${describer.calls} descriptions paid for`);
    assert.equal(libraryCounts(ws, ['jobs']).jobs, 0);
  });

  test('a transient fault streak sends the item back to the queue instead of failing it; a lasting one fails after two requeues', async () => {
    const n = copySample(ws, 'sample', 6);
    const tag = JSON.parse(fs.readFileSync(path.join(ws.staging, 'sample', 'manifest.jsonl'), 'utf8').split('\n')[2]!).tags[0] as string;
    const streak = new StreakDescriber(tag, 2);
    const healed = await ingestNow(ws, { describer: streak, embedder: () => new FakeEmbedder(256) });
    assert.equal(streak.failures, 2);
    assert.deepEqual([healed.summary.added, healed.summary.failed], [n, 0], healed.log);
    assert.equal(libraryCounts(ws, ['jobs']).jobs, 0);

    ws.cleanup();
    ws = makeWorkspace();
    copySample(ws, 'sample', 6);
    const lasting = new StreakDescriber(tag, 100);
    const failed = await ingestNow(ws, { describer: lasting, embedder: () => new FakeEmbedder(256) });
    assert.equal(failed.summary.failed >= 1, true);
    assert.equal(lasting.failures, 3 * failed.summary.failed, 'first try plus two requeues, per failed item');
    assert.equal(failed.summary.failures[0]!.stage, 'describe');
    assert.match(failed.summary.failures[0]!.reason, /HTTP 503: overloaded/);
    assert.equal(libraryCounts(ws, ['jobs']).jobs, failed.summary.failed);
  });
});
