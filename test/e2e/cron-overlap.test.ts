/**
 * Overlapping cron runs, as spawned CLI processes on one database: two ingests
 * of the same source started together (--no-lock) add every item exactly once
 * between them; with the lock, a second run exits 4 at once; a lock left by a
 * dead process is taken over.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { lockFile } from '../../src/cli/lock.js';
import { thisProcess } from '../../src/process-identity.js';
import type { RunSummary } from '../../src/pipeline/outcome.js';
import { runCli, startCli, waitFor } from '../helpers/cli.js';
import { writeGeneratedStaging } from '../helpers/generated-images.js';
import { libraryCounts } from '../helpers/library.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const counts = (ws: Workspace) =>
  libraryCounts(ws, ['memes', 'sources', 'vectors', 'vec', 'descriptions', 'jobs', 'claims', 'objects']);

describe('cron safety', () => {
  const N = 30;
  let ws: Workspace;
  before(async () => {
    ws = makeWorkspace();
    await writeGeneratedStaging(ws.staging, 'gen', N);
  });
  after(() => ws.cleanup());

  test('two ingests of one source started together: every item once, both exit 0, no lock errors', async () => {
    const args = ['--config', ws.config, '--json', 'ingest', '--source', 'staging:gen', '--no-lock', '--workers', '4'];
    const [a, b] = await Promise.all([runCli(args), runCli(args)]);
    for (const r of [a, b]) {
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /database is locked|SQLITE_BUSY/);
    }
    const sa = JSON.parse(a.stdout) as RunSummary;
    const sb = JSON.parse(b.stdout) as RunSummary;
    assert.equal(sa.added + sb.added, N, `added ${sa.added} + ${sb.added}`);
    assert.equal(sa.skipped + sb.skipped, N);
    assert.equal(sa.failed + sb.failed, 0);
    assert.deepEqual(counts(ws), { memes: N, sources: N, vectors: N, vec: N, descriptions: N, jobs: 0, claims: 0, objects: N });
  });

  test('with the lock, a second ingest exits 4 at once naming the holder; a stale lock is taken over', async () => {
    const more = makeWorkspace();
    try {
      await writeGeneratedStaging(more.staging, 'gen', 40);
      const file = lockFile(more.db, 'ingest', 'source staging:gen');
      const first = startCli(['--config', more.config, 'ingest', '--source', 'staging:gen', '--workers', '1']);
      await waitFor(() => fs.existsSync(file), 30_000, 'the lock file');
      const started = Date.now();
      const second = await runCli(['--config', more.config, 'ingest', '--source', 'staging:gen']);
      assert.equal(second.code, 4);
      assert.match(second.stderr, new RegExp(`another emomo ingest is running on .*emomo\\.db \\(pid ${first.child.pid}, since 20`));
      assert.ok(Date.now() - started < 15_000, 'exits at once');
      const firstResult = await first.done;
      assert.equal(firstResult.code, 0, firstResult.stderr);
      assert.equal(fs.existsSync(file), false, 'the lock is released at the end');

      // A lock left behind by a process that no longer exists.
      fs.writeFileSync(file, JSON.stringify({ pid: 2147483646, host: (await import('node:os')).hostname(), command: 'ingest', scope: 'source staging:gen', started: '2020-01-01T00:00:00.000Z' }));
      const third = await runCli(['--config', more.config, '--json', 'ingest', '--source', 'staging:gen']);
      assert.equal(third.code, 0, third.stderr);
      assert.equal((JSON.parse(third.stdout) as RunSummary).skipped, 40);
      assert.equal(fs.existsSync(file), false);
    } finally {
      more.cleanup();
    }
  });

  test('a lock naming a live but unrelated process is taken over; a lock path that is a folder exits 2 naming it', async () => {
    const file = lockFile(ws.db, 'ingest', 'source staging:gen');
    // This test process is alive, but it started at another time than the process this lock names (pid reuse).
    const reused = { ...thisProcess(), start: '1', command: 'ingest', scope: 'source staging:gen', started: '2020-01-01T00:00:00.000Z' };
    fs.writeFileSync(file, JSON.stringify(reused));
    const run = await runCli(['--config', ws.config, '--json', 'ingest', '--source', 'staging:gen']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(fs.existsSync(file), false);

    fs.mkdirSync(file);
    try {
      const refused = await runCli(['--config', ws.config, 'ingest', '--source', 'staging:gen']);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, new RegExp(`cannot use the lock file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: it is a directory`));
    } finally {
      fs.rmdirSync(file);
    }
  });
});
