/**
 * The store contract, continued (see store-contract.test.ts): what
 * PictureStore promises on every backend. Hashes come with a commit or are
 * backfilled once; candidates are found by band, never by a scan the caller
 * must filter; a merge moves sources, tags and the md5 to the keeper, removes
 * the copy's rows and vectors and records its object delete, in one step that
 * re-checks each copy; variants are linked, aliases remembered.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { PictureHashes } from '../../src/images/phash.js';
import { newOwnerId } from '../../src/store/claim-owner.js';
import type { LibraryStore } from '../../src/store/ports.js';
import { STORE_BACKENDS, type StoreBackend } from '../helpers/store-backends.js';
import { addMeme, commitInput, freshLibraryPerTest, md5Of, vectorFor, type MemeSpec } from '../helpers/store-fixtures.js';

/** Hashes whose picture hash is `picture` (16 hex digits); the whole-frame hash and colours follow from it. */
const hashes = (picture: string): PictureHashes => ({ phash: picture.split('').reverse().join(''), picture, colours: '80'.repeat(12) });
const A = '0123456789abcdef';
/** A's picture with one byte changed: shares seven bands with A. */
const A_NEAR = '0123456789abcd00';
/** Shares no byte (band) with A. */
const FAR = 'fedcba9876543210';

function contract(backend: StoreBackend) {
  describe(`LibraryStore picture contract: ${backend.name}`, { skip: backend.unavailable }, () => {
    const current = freshLibraryPerTest(backend);
    let store: LibraryStore;
    beforeEach(() => void ({ store } = current));

    const addHashed = async (spec: MemeSpec, picture?: string): Promise<number> => {
      const input = commitInput(spec);
      await store.saveDescription(input.descriptionKey, input.description);
      return (await store.commitItem({ ...input, ...(picture ? { hashes: hashes(picture) } : {}) })).memeId;
    };

    test('hashes are stored with a commit or backfilled once; candidates share a band', async () => {
      const a = await addHashed({ name: 'a', caption: '我太难了' }, A);
      const old = await addMeme(store, { name: 'old' });
      const far = await addHashed({ name: 'far' }, FAR);
      assert.deepEqual((await store.memesWithoutHashes(0, 10)).map((m) => [m.id, m.md5]), [[old, md5Of('old')]]);
      assert.equal(await store.saveHashes([{ id: old, md5: md5Of('someone else'), ...hashes(A_NEAR) }]), 0, 'another image under that id');
      assert.equal(await store.saveHashes([{ id: old, md5: md5Of('old'), ...hashes(A_NEAR) }]), 1);
      assert.equal(await store.saveHashes([{ id: old, md5: md5Of('old'), ...hashes(FAR) }]), 0, 'hashes are stored once');
      assert.deepEqual(await store.memesWithoutHashes(0, 10), []);
      assert.deepEqual((await store.hashedMemes(0, 10)).map((m) => [m.id, m.picture]), [[a, A], [old, A_NEAR], [far, FAR]]);
      assert.deepEqual((await store.hashedMemes(a, 1)).map((m) => m.id), [old], 'paged by id');

      const candidates = await store.pictureCandidates(A);
      assert.deepEqual(candidates.map((c) => c.id).sort(), [a, old].sort());
      const facts = candidates.find((c) => c.id === a)!;
      assert.deepEqual([facts.md5, facts.caption, facts.sources, facts.isAnimated, facts.phash, facts.colours], [md5Of('a'), '我太难了', 1, false, hashes(A).phash, hashes(A).colours]);
      assert.deepEqual((await store.pictureFacts([far, a, 9999])).map((f) => f.id), [a, far], 'existing memes, by id');
    });

    test('a merge moves sources, tags and the md5 to the keeper and removes the copy with its vector and object', async () => {
      const keeper = await addHashed({ name: 'keep', caption: '我太难了', tags: ['无奈'] }, A);
      const copy = await addHashed({ name: 'copy', caption: '我太难了', tags: ['无奈', '转发'], sourceType: 'dir:b', axis: 3 }, A_NEAR);
      const outcome = await store.mergeDuplicates({ keeper: { id: keeper, md5: md5Of('keep') }, copies: [{ id: copy, md5: md5Of('copy') }] }, 'dupes --merge');
      assert.deepEqual(
        [outcome.keeperFound, outcome.merged, outcome.skipped, outcome.sourcesMoved, outcome.tagsAdded, outcome.vectors, outcome.objects],
        [true, [{ id: copy, md5: md5Of('copy') }], [], 1, ['转发'], 1, 1],
      );
      assert.equal(await store.findMemeByMd5(md5Of('copy')), undefined);
      assert.equal(await store.aliasOf(md5Of('copy')), keeper);
      const [kept] = await store.pictureFacts([keeper]);
      assert.deepEqual([kept!.sources, kept!.tags], [2, ['无奈', '转发']]);
      const hits = (await store.vectorSearch('main', vectorFor(3, 'copy'), 5, { tags: [] })).hits;
      assert.deepEqual(hits.map((h) => h.memeId), [keeper], 'the copy has no vector left');
      assert.deepEqual((await store.vectorSearch('main', vectorFor(0), 5, { tags: ['转发'], source: 'dir:b' })).hits.map((h) => h.memeId), [keeper]);
      assert.deepEqual((await store.pictureCandidates(A)).map((c) => c.id), [keeper], 'its bands went with it');
      assert.deepEqual((await store.takeObjectDeletes(newOwnerId(), '', 10, 60_000)).keys, [commitInput({ name: 'copy' }).storageKey]);
    });

    test('a merge re-checks: a changed keeper merges nothing; a claimed or re-used copy is skipped with why', async () => {
      const keeper = await addHashed({ name: 'keep' }, A);
      const claimed = await addHashed({ name: 'claimed' }, A);
      const copy = await addHashed({ name: 'copy' }, A);
      const gone = await store.mergeDuplicates({ keeper: { id: keeper, md5: md5Of('other') }, copies: [{ id: copy, md5: md5Of('copy') }] }, 'r');
      assert.deepEqual([gone.keeperFound, gone.merged, gone.skipped.length], [false, [], 1]);
      assert.ok(await store.findMemeByMd5(md5Of('copy')), 'nothing merged');

      assert.deepEqual([...(await store.claimItems([md5Of('claimed')], 'main', newOwnerId(), 60_000))], [md5Of('claimed')]);
      const out = await store.mergeDuplicates(
        { keeper: { id: keeper, md5: md5Of('keep') }, copies: [{ id: claimed, md5: md5Of('claimed') }, { id: copy, md5: md5Of('copy') }, { id: 9999, md5: md5Of('x') }] },
        'r',
      );
      assert.deepEqual(out.merged, [{ id: copy, md5: md5Of('copy') }]);
      assert.deepEqual(out.skipped.map((s) => [s.id, /claimed|gone/.test(s.reason)]), [[claimed, true], [9999, true]]);
      assert.ok(await store.findMemeByMd5(md5Of('claimed')));
    });

    test('two merges racing from two connections move each copy once; the later one skips what is gone, never fails', async () => {
      const keeper = await addHashed({ name: 'keep', tags: ['无奈'] }, A);
      const names = ['c1', 'c2', 'c3'];
      const copies = [];
      for (const [i, name] of names.entries()) copies.push({ id: await addHashed({ name, tags: [`t${i}`], sourceType: `dir:${name}`, axis: i + 1 }, A), md5: md5Of(name) });
      const other = await current.lib.connect();
      const group = { keeper: { id: keeper, md5: md5Of('keep') }, copies };
      const runs = await Promise.all([store.mergeDuplicates(group, 'one'), other.mergeDuplicates(group, 'two')]);
      assert.deepEqual(runs.flatMap((r) => r.merged.map((m) => m.id)).sort(), copies.map((c) => c.id).sort(), 'each copy merged by exactly one run');
      assert.ok(runs.flatMap((r) => r.skipped).every((s) => /gone/.test(s.reason)));
      assert.equal(runs[0]!.sourcesMoved + runs[1]!.sourcesMoved, 3);
      const [kept] = await store.pictureFacts([keeper]);
      assert.deepEqual([kept!.sources, [...kept!.tags].sort()], [4, ['t0', 't1', 't2', '无奈']]);
      for (const c of copies) assert.equal(await store.aliasOf(c.md5), keeper);
      assert.equal((await store.takeObjectDeletes(newOwnerId(), '', 10, 60_000)).keys.length, 3, 'each object delete recorded once');

      // Crossed groups (each run keeps what the other merges away): one of the two memes stays, holding both sources.
      const x = await addHashed({ name: 'x' }, FAR);
      const y = await addHashed({ name: 'y', sourceType: 'dir:y' }, FAR);
      const [xy, yx] = await Promise.all([
        store.mergeDuplicates({ keeper: { id: x, md5: md5Of('x') }, copies: [{ id: y, md5: md5Of('y') }] }, 'one'),
        other.mergeDuplicates({ keeper: { id: y, md5: md5Of('y') }, copies: [{ id: x, md5: md5Of('x') }] }, 'two'),
      ]);
      assert.equal(xy.merged.length + yx.merged.length, 1);
      assert.equal([xy, yx].filter((r) => !r.keeperFound).length, 1, 'the later run finds its keeper merged away');
      const left = await store.pictureCandidates(FAR);
      assert.deepEqual([left.length, left[0]!.sources], [1, 2]);
    });

    test('variants are linked (a later link replaces the earlier one); aliases only point at memes that exist', async () => {
      const template = await addHashed({ name: 't', caption: '我太难了' }, A);
      const v1 = await addHashed({ name: 'v1', caption: '无语' }, A);
      const v2 = await addHashed({ name: 'v2', caption: '下班' }, A);
      assert.equal(await store.linkVariants([{ templateId: template, memberIds: [v1, v2, template, 9999] }]), 2, 'neither itself nor a missing meme');
      assert.equal(await store.linkVariants([{ templateId: v1, memberIds: [v2] }]), 1);

      assert.equal(await store.aliasOf(md5Of('new')), undefined);
      assert.equal(await store.addAlias(md5Of('new'), template, 'ingest --skip-duplicates'), true);
      assert.equal(await store.aliasOf(md5Of('new')), template);
      assert.equal(await store.addAlias(md5Of('t'), template, 'r'), false, 'an image is never its own alias');
      assert.equal(await store.addAlias(md5Of('newer'), 9999, 'r'), false, 'no alias of a meme that is gone');
    });
  });
}

for (const backend of STORE_BACKENDS) contract(backend);
