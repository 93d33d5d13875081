/**
 * The store contract, continued (see store-contract.test.ts): what the
 * maintenance ports promise on every backend. Verify compares storage with a
 * snapshot of the memes and repairs derived rows without ever removing a
 * meme; a meme is removed only after a re-check; purge removes rows and
 * records its object deletes in one transaction; a recorded delete is checked
 * again and leased when taken, and the lease keeps ingest from claiming the image.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { newOwnerId } from '../../src/store/claim-owner.js';
import { VERIFY_CHECKS, type LibraryStore } from '../../src/store/ports.js';
import { STORE_BACKENDS, type StoreBackend, type TestLibrary } from '../helpers/store-backends.js';
import { addMeme, commitInput, DIMS, failure, inAMinute, md5Of, sleep, vectorFor } from '../helpers/store-fixtures.js';

const key = (name: string) => commitInput({ name }).storageKey;

function contract(backend: StoreBackend) {
  describe(`LibraryStore maintenance contract: ${backend.name}`, { skip: backend.unavailable }, () => {
    // A fresh library per test, with the collection every case uses.
    let lib: TestLibrary;
    let store: LibraryStore;
    beforeEach(async () => {
      lib = await backend.create();
      ({ store } = lib);
      await store.ensureCollection('main', DIMS, 'embed-a');
    });
    afterEach(async () => lib.cleanup());

    const audit = async (listed: string[]) => {
      await store.beginVerify();
      await store.addListedObjects(listed);
      return store.audit(3);
    };

    test('verify compares storage with the memes as they were before the listing; orphans exclude claimed images', async () => {
      await store.ensureCollection('other', DIMS, 'embed-b');
      const [v1, v2] = [await addMeme(store, { name: 'v1' }), await addMeme(store, { name: 'v2' })];
      await store.commitItem(commitInput({ name: 'v2', collection: 'other' }));
      await store.linkSource({ sourceType: 'dir:b', sourceId: 'b2', path: '/b', category: 'c', tags: [] }, v2);
      await store.claimItems([md5Of('claimed')], 'main', newOwnerId(), 60_000);

      await store.beginVerify();
      // Committed while storage is listed: its object is not in the listing, and that is not a loss.
      await addMeme(store, { name: 'late' });
      await store.addListedObjects([key('v1'), key('orphan'), key('claimed')]);
      const found = await store.audit(3);
      assert.deepEqual(found.totals, { memes: 3, vectors: 4, descriptions: 3, fts_rows: 3, objects: 3 });
      assert.deepEqual(found.checks.object_without_meme, { count: 1, examples: [key('orphan')] });
      assert.deepEqual(found.checks.meme_without_object, { count: 1, examples: [`${md5Of('v2')} (staging:a v2)`] });
      const others = VERIFY_CHECKS.filter((k) => k !== 'object_without_meme' && k !== 'meme_without_object');
      assert.ok(others.every((k) => found.checks[k].count === 0), JSON.stringify(found.checks));
      assert.deepEqual(found.backfill, [{ collection: 'main', missing: 0 }, { collection: 'other', missing: 2 }]);
      assert.deepEqual(await store.memesWithoutObject(0, 10), [
        { id: v2, md5: md5Of('v2'), storageKey: key('v2'), format: 'png', sources: [{ sourceType: 'staging:a', sourceId: 'v2' }, { sourceType: 'dir:b', sourceId: 'b2' }] },
      ]);
      assert.deepEqual(await store.memesWithoutObject(v2, 10), []);
      assert.deepEqual((await store.memesWithObject(0, 10)).map((m) => m.id), [v1]);
      assert.deepEqual(await store.checkIntegrity(false, 10), []);
      assert.deepEqual(await store.checkIntegrity(true, 10), []);
      await store.endVerify();
    });

    test('repairDatabase rebuilds keyword rows and re-queues memes whose vector is missing; it never removes a meme', async () => {
      const [k, v] = [await addMeme(store, { name: 'k1' }), await addMeme(store, { name: 'v1' })];
      // A meme that was never described (its vector goes too): nothing can embed it.
      const bare = (await store.commitItem(commitInput({ name: 'bare' }))).memeId;
      await lib.damage.dropKeywordRow(k);
      await lib.damage.dropVector('main', v);
      await lib.damage.dropVector('main', bare);
      const broken = await audit([key('k1'), key('v1'), key('bare')]);
      assert.equal(broken.checks.meme_without_fts_row.count, 1);
      assert.equal(broken.checks.vector_row_without_vec_row.count, 2);

      const repair = await store.repairDatabase(3);
      assert.deepEqual([repair.fixed.meme_without_fts_row, repair.fixed.vector_row_without_vec_row], [1, 2]);
      assert.deepEqual(repair.requeued, [{ collection: 'main', memes: 1 }]);
      assert.deepEqual(repair.undescribed, { count: 1, examples: [`${md5Of('bare')} (staging:a bare)`] });
      for (const name of ['k1', 'v1', 'bare']) assert.ok(await store.findMemeByMd5(md5Of(name)), `${name} kept`);
      assert.deepEqual((await store.findUnembedded('main', 0, 10)).map((c) => c.md5), [md5Of('v1')]);
      assert.deepEqual((await store.keywordSearch({ text: 'k1' }, 5, { tags: [] })).map((h) => h.memeId), [k]);
      const after = await audit([key('k1'), key('v1'), key('bare')]);
      assert.deepEqual(VERIFY_CHECKS.filter((c) => after.checks[c].count > 0), ['meme_without_vector']);
      assert.equal(after.checks.meme_without_vector.count, 2, 'both wait: one for embed, one for a re-ingest');
      await store.endVerify();
    });

    test('a meme whose object is lost is removed only if unchanged and unclaimed', async () => {
      const lost = await addMeme(store, { name: 'lost' });
      const meme = { id: lost, md5: md5Of('lost'), storageKey: key('lost') };
      assert.equal(await store.removeMemeWithoutObject({ ...meme, storageKey: key('other') }), false, 'changed since the audit');
      const owner = newOwnerId();
      await store.claimItems([meme.md5], 'main', owner, 60_000);
      assert.equal(await store.removeMemeWithoutObject(meme), false, 'an ingest holds the image');
      await store.releaseItems([meme.md5], 'main', owner);
      assert.equal(await store.removeMemeWithoutObject(meme), true);
      assert.equal(await store.findMemeByMd5(meme.md5), undefined);
      assert.equal((await store.collectionInfo('main'))?.size, 0);
      assert.ok(await store.findDescription({ md5: meme.md5, vlmModel: 'vlm-a', promptVersion: '1' }), 'the paid description stays');
      assert.equal(await store.removeMemeWithoutObject(meme), false, 'already gone');
    });

    test('purge: a dry run changes nothing; a real one removes rows and records its object deletes in one step', async () => {
      const a1 = await addMeme(store, { name: 'a1' });
      await addMeme(store, { name: 'a2' });
      const shared = await addMeme(store, { name: 'a3' });
      await store.linkSource({ sourceType: 'dir:b', sourceId: 'b3', path: '/b', category: 'c', tags: [] }, shared);
      await addMeme(store, { name: 'b1', sourceType: 'dir:b' });
      await store.recordFailure(failure('a9'), inAMinute);
      const expected = { source_links: 3, memes_removed: 2, memes_kept: 1, primary_source_moved: 1, vectors: 2, fts_rows: 2, descriptions: 2, objects: 2, jobs: 1 };
      const { examples, ...dry } = await store.purgeCounts('staging:a', 5);
      assert.deepEqual(dry, expected);
      assert.deepEqual(examples.kept, [`${md5Of('a3')} (also from dir:b b3)`]);
      assert.ok(await store.findMemeByMd5(md5Of('a1')), 'a dry run changes nothing');
      const { examples: _, ...applied } = await store.applyPurge('staging:a', 5);
      assert.deepEqual(applied, expected);

      assert.equal(await store.findMemeByMd5(md5Of('a1')), undefined);
      assert.equal(await store.linkSource({ sourceType: 'dir:c', sourceId: 'c1', path: '/c', category: 'c', tags: [] }, a1), false, 'no link to a meme that is gone');
      assert.equal((await store.findMemeByMd5(md5Of('a3')))?.sourceType, 'dir:b');
      assert.equal((await store.vectorSearch('main', vectorFor(0), 5, { tags: [], source: 'staging:a' })).hits.length, 0);
      assert.equal((await store.vectorSearch('main', vectorFor(0), 5, { tags: [], source: 'dir:b' })).hits.length, 2);
      assert.equal(await store.findJob('staging:a', 'a9', 'main'), undefined);
      const owner = newOwnerId();
      assert.deepEqual((await store.takeObjectDeletes(owner, '', 10, 60_000)).keys.sort(), [key('a1'), key('a2')].sort());
      await store.finishObjectDeletes(owner, [key('a1'), key('a2')]);
      assert.deepEqual(await store.takeObjectDeletes(owner, '', 10, 60_000), { keys: [], inUse: 0, waiting: 0 });
    });

    test('a recorded delete is checked again when taken, and its lease keeps ingest off the image', async () => {
      for (const name of ['d1', 'd2', 'd3']) await addMeme(store, { name, sourceType: 'dir:gone' });
      await store.applyPurge('dir:gone', 0);
      const [deleter, ingest, other] = [newOwnerId(), newOwnerId(), newOwnerId()];
      const second = await lib.connect();
      await second.ensureCollection('main', DIMS, 'embed-a');
      // An ingest already holds d2: its delete waits for a later run.
      assert.equal((await second.claimItems([md5Of('d2')], 'main', ingest, 60_000)).size, 1);
      const first = await store.takeObjectDeletes(deleter, '', 10, 60_000);
      assert.deepEqual({ ...first, keys: first.keys.sort() }, { keys: [key('d1'), key('d3')].sort(), inUse: 0, waiting: 1, last: [key('d1'), key('d2'), key('d3')].sort().at(-1) });
      assert.equal((await second.claimItems([md5Of('d1')], 'main', ingest, 60_000)).size, 0, 'being deleted: not claimable');
      assert.equal((await second.takeObjectDeletes(other, '', 10, 60_000)).keys.length, 0, 'another run leaves leased deletes alone');
      assert.equal(await store.renewClaims(deleter, 60_000), 2, 'the heartbeat renews delete leases');
      await store.finishObjectDeletes(deleter, [key('d1')]);
      assert.equal((await second.claimItems([md5Of('d1')], 'main', ingest, 60_000)).size, 1, 'deleted: the image is free');
      // d3's lease ended with finish (its delete is still recorded); taken again, it lapses after 400 ms.
      assert.deepEqual((await store.takeObjectDeletes(deleter, '', 10, 400)).keys, [key('d3')]);
      await sleep(800);
      assert.deepEqual((await second.takeObjectDeletes(other, '', 10, 60_000)).keys, [key('d3')], 'an expired lease is taken over');
      await second.finishObjectDeletes(other, []);
      // d2 comes back (the ingest commits it): its recorded delete is dropped, the object stays.
      await second.releaseItems([md5Of('d2')], 'main', ingest);
      await addMeme(second, { name: 'd2', sourceType: 'dir:gone' });
      const again = await store.takeObjectDeletes(deleter, '', 10, 60_000);
      assert.deepEqual([again.keys, again.inUse, again.waiting], [[key('d3')], 1, 0]);
      assert.deepEqual((await store.takeObjectDeletes(deleter, '', 10, 60_000)).inUse, 0, 'dropped for good');
    });

    test('verify records orphans as deletes, leaving objects a live ingest claims', async () => {
      await addMeme(store, { name: 'kept' });
      await store.claimItems([md5Of('flying')], 'main', newOwnerId(), 60_000);
      await audit([key('kept'), key('orphan'), key('flying')]);
      assert.equal(await store.queueOrphanDeletes(), 1);
      assert.equal(await store.queueOrphanDeletes(), 0, 'recorded once');
      await store.endVerify();
      assert.deepEqual((await store.takeObjectDeletes(newOwnerId(), '', 10, 60_000)).keys, [key('orphan')]);
    });
  });
}

for (const backend of STORE_BACKENDS) contract(backend);
