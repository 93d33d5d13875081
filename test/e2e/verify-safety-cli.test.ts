/**
 * Maintenance pointed at the wrong library, as a typo or a cron job started
 * from the wrong folder does it (spawned CLI): a database that does not exist
 * is refused and never created; an existing library that knows none of the
 * objects in storage makes repair refuse instead of deleting them all.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { VerifyReport } from '../../src/pipeline/verify-service.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { runCli } from '../helpers/cli.js';
import { generateLibrary } from '../helpers/library-generator.js';
import { listObjects, makeWorkspace, type Workspace } from '../helpers/workspace.js';

const N = 150;

describe('maintenance on the wrong library', () => {
  let ws: Workspace;
  before(() => {
    ws = makeWorkspace();
    generateLibrary({ db: ws.db, objects: ws.objects, memes: N, dims: 16, collection: 'emomo-local-16' });
  });
  after(() => ws.cleanup());
  const cli = (...args: string[]) => runCli(['--config', ws.config, ...args]);

  test('a mistyped --db: verify --repair and purge refuse (exit 2), create nothing and delete nothing', async () => {
    const typo = path.join(ws.dir, 'data', 'emoomo.db');
    for (const args of [['verify', '--repair'], ['purge', '--source', 'staging:generated', '--yes']]) {
      const r = await cli('--db', typo, ...args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /no library at .*emoomo\.db/);
      assert.equal(fs.existsSync(path.dirname(typo)), false, 'no folder, no file');
    }
    assert.equal(listObjects(ws.objects).length, N);
  });

  test('an existing library that knows none of the objects: repair refuses, names what it would delete, and deletes nothing', async () => {
    const empty = path.join(ws.dir, 'other.db');
    await new SqliteStore(empty).close();
    const r = await cli('--db', empty, '--json', 'verify', '--repair');
    assert.equal(r.code, 2, r.stderr);
    const report = JSON.parse(r.stdout) as VerifyReport;
    assert.deepEqual([report.refused?.memes, report.refused?.objects, report.refused?.limit.objects], [0, N, 100]);
    assert.equal(report.refused!.examples.length, 5);
    assert.match(r.stderr, new RegExp(`refused: ${N} of ${N} objects would be deleted as orphans .*nothing was deleted`));
    assert.equal(listObjects(ws.objects).length, N);
    assert.equal((await cli('verify')).code, 0, 'the real library is untouched');
  });
});
