/**
 * Claims on a real SQLite file: two connections (as two processes would have)
 * never take the same job or image; a claim comes back after it expires or
 * when its owner's process is gone.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { newOwnerId } from '../../src/store/sqlite/claims.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const NOW = new Date('2030-01-01T00:00:00.000Z');
const MIN = 60_000;
/** An owner on this host whose process cannot exist. */
const DEAD_OWNER = `${os.hostname()}/2147483646/dead`;
/** A live owner on another host: trusted until its claim expires. */
const REMOTE_OWNER = 'another-host/1/abcd';

describe('claims', () => {
  let ws: Workspace;
  let a: SqliteStore;
  let b: SqliteStore;

  beforeEach(() => {
    ws = makeWorkspace();
    a = new SqliteStore(ws.db);
    b = new SqliteStore(ws.db);
    for (let i = 0; i < 10; i++) {
      a.recordFailure(
        { sourceType: 'staging:x', sourceId: `i${i}`, collection: 'c', stage: 'embed', reason: 'HTTP 503', permanent: false },
        () => ({ status: 'failed', nextRetryAt: new Date(NOW.getTime() - 1000) }),
      );
    }
  });
  afterEach(() => {
    a.close();
    b.close();
    ws.cleanup();
  });

  const filter = (limit: number) => ({ collection: 'c', now: NOW, afterId: 0, limit, includeDead: false });

  test('two claimers take disjoint jobs; a finished or failed job releases its claim', () => {
    const ownerA = newOwnerId();
    const ownerB = newOwnerId();
    const first = a.claimDueJobs(filter(6), ownerA, 10 * MIN);
    const second = b.claimDueJobs(filter(6), ownerB, 10 * MIN);
    assert.equal(first.length, 6);
    assert.equal(second.length, 4);
    const ids = new Set([...first, ...second].map((j) => j.id));
    assert.equal(ids.size, 10, 'no job claimed twice');
    assert.equal(b.claimDueJobs(filter(10), ownerB, 10 * MIN).length, 0);

    a.markJobDone('staging:x', first[0]!.sourceId, 'c');
    assert.equal(a.releaseJobClaims(ownerA), 5, 'unfinished claims go back');
    assert.equal(a.countJobs('c', NOW).pending, 5);
    assert.equal(b.claimDueJobs(filter(10), ownerB, 10 * MIN).length, 5, 'released jobs are due at once');
  });

  test("a crashed claimer's jobs come back after expiry, or at once when its pid is gone", () => {
    assert.equal(a.claimDueJobs(filter(5), REMOTE_OWNER, 10 * MIN).length, 5);
    assert.equal(a.claimDueJobs(filter(5), DEAD_OWNER, 10 * MIN).length, 5);
    const ownerB = newOwnerId();
    const now = b.claimDueJobs(filter(10), ownerB, 10 * MIN);
    assert.equal(now.length, 5, "the dead process's jobs are claimable at once; the remote one's are not");
    assert.ok(now.every((j) => j.status === 'processing'));
    const later = b.claimDueJobs({ ...filter(10), now: new Date(NOW.getTime() + 11 * MIN) }, ownerB, 10 * MIN);
    assert.equal(later.length, 10, 'every claim has expired by now');
  });

  test('an image claim is exclusive, re-entrant, and taken over from a dead or expired owner', () => {
    const ownerA = newOwnerId();
    const ownerB = newOwnerId();
    assert.equal(a.claimItem('m1', 'c', ownerA, NOW, MIN), true);
    assert.equal(a.claimItem('m1', 'c', ownerA, NOW, MIN), true);
    assert.equal(b.claimItem('m1', 'c', ownerB, NOW, MIN), false);
    assert.equal(b.claimItem('m1', 'other', ownerB, NOW, MIN), true, 'claims are per collection');
    assert.equal(b.claimItem('m1', 'c', ownerB, new Date(NOW.getTime() + 2 * MIN), MIN), true, 'expired');
    b.releaseItems(['m1'], 'c', ownerA);
    assert.equal(a.claimItem('m1', 'c', ownerA, NOW, MIN), false, "releasing someone else's claim does nothing");
    b.releaseItems(['m1'], 'c', ownerB);
    assert.equal(a.claimItem('m1', 'c', ownerA, NOW, MIN), true);

    assert.equal(a.claimItem('m2', 'c', DEAD_OWNER, NOW, 10 * MIN), true);
    assert.equal(b.claimItem('m2', 'c', ownerB, NOW, MIN), true, 'owner process is gone');
    assert.deepEqual([...a.claimItems(['m2', 'm3'], 'c', ownerA, NOW, MIN)], ['m3']);
  });
});
