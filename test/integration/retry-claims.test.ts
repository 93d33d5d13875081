/**
 * The SQLite adapter's same-host shortcut on top of the lease contract (see
 * store-contract.test.ts): a claim whose owner ran on this host and whose
 * process is gone ends at once, without waiting for its lease; an owner on
 * another host is trusted until its lease expires.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { newOwnerId } from '../../src/store/claim-owner.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const NOW = new Date('2030-01-01T00:00:00.000Z');
const MIN = 60_000;
/** An owner on this host whose process cannot exist. */
const DEAD_OWNER = `${os.hostname()}/2147483646/dead`;
/** A live owner on another host: trusted until its claim expires. */
const REMOTE_OWNER = 'another-host/1/abcd';

describe('SQLite claims of a dead process on this host', () => {
  let ws: Workspace;
  let a: SqliteStore;
  let b: SqliteStore;

  beforeEach(async () => {
    ws = makeWorkspace();
    a = new SqliteStore(ws.db);
    b = new SqliteStore(ws.db);
    for (let i = 0; i < 10; i++) {
      await a.recordFailure(
        { sourceType: 'staging:x', sourceId: `i${i}`, collection: 'c', stage: 'embed', reason: 'HTTP 503', permanent: false },
        () => ({ status: 'failed', nextRetryAt: new Date(NOW.getTime() - 1000) }),
      );
    }
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    ws.cleanup();
  });

  const filter = (limit: number) => ({ collection: 'c', now: NOW, afterId: 0, limit, includeDead: false });

  test("jobs: the dead process's are claimable at once; the remote owner's are not", async () => {
    assert.equal((await a.claimDueJobs(filter(5), REMOTE_OWNER, 10 * MIN)).length, 5);
    assert.equal((await a.claimDueJobs(filter(5), DEAD_OWNER, 10 * MIN)).length, 5);
    const taken = await b.claimDueJobs(filter(10), newOwnerId(), 10 * MIN);
    assert.equal(taken.length, 5);
    assert.ok(taken.every((j) => j.status === 'processing'));
    assert.ok(taken.every((j) => Number(j.sourceId.slice(1)) >= 5), 'exactly the dead owner’s jobs');
  });

  test("images: the dead process's claim is taken over at once; the remote owner's holds", async () => {
    const ownerB = newOwnerId();
    assert.deepEqual([...(await a.claimItems(['m1', 'm2'], 'c', DEAD_OWNER, 10 * MIN))], ['m1', 'm2']);
    assert.deepEqual([...(await a.claimItems(['m3'], 'c', REMOTE_OWNER, 10 * MIN))], ['m3']);
    assert.deepEqual([...(await b.claimItems(['m1', 'm2', 'm3'], 'c', ownerB, MIN))].sort(), ['m1', 'm2']);
  });
});
