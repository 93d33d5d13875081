/**
 * The pipeline's heartbeat: while a LeaseKeeper is held, the owner's claims
 * outlive their lease; once it is released (or the worker dies), they run out
 * and another worker takes the items over.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LeaseKeeper } from '../../src/pipeline/claim-lease.js';
import { newOwnerId } from '../../src/store/claim-owner.js';
import { STORE_BACKENDS } from '../helpers/store-backends.js';
import { sleep } from '../helpers/store-fixtures.js';

for (const backend of STORE_BACKENDS) {
  test(`${backend.name}: a held lease is renewed; a released one runs out`, { skip: backend.unavailable }, async () => {
    const lib = await backend.create();
    try {
      const other = await lib.connect();
      const [owner, rival] = [newOwnerId(), newOwnerId()];
      const keeper = new LeaseKeeper(lib.store, owner, 300);
      assert.equal((await lib.store.claimItems(['m1'], 'c', owner, keeper.leaseMs)).size, 1);
      const outer = keeper.hold();
      const inner = keeper.hold();
      inner();
      inner(); // releasing twice is harmless; the outer hold still keeps the lease alive
      await sleep(900);
      assert.equal((await other.claimItems(['m1'], 'c', rival, 60_000)).size, 0, 'renewed three times over');
      outer();
      await sleep(700);
      assert.equal((await other.claimItems(['m1'], 'c', rival, 60_000)).size, 1, 'no heartbeat: the lease ran out');
    } finally {
      await lib.cleanup();
    }
  });
}
