/**
 * One contract for every LibraryStore backend (see test/helpers/store-backends.ts):
 * what each port method promises, proved against a fresh library per test.
 * Time-based cases (lease expiry) use short leases on the database's clock.
 * The maintenance ports (verify, purge, object deletes) have their cases in
 * store-contract-maintenance.test.ts, over the same backends.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { DimensionMismatchError } from '../../src/errors.js';
import { newOwnerId } from '../../src/store/claim-owner.js';
import type { LibraryStore, RecallFilters } from '../../src/store/ports.js';
import { STORE_BACKENDS, type StoreBackend, type TestLibrary } from '../helpers/store-backends.js';
import { addMeme, commitInput, DIMS, failure, inAMinute, md5Of, sleep, vectorFor, type MemeSpec } from '../helpers/store-fixtures.js';

const later = () => new Date(Date.now() + 120_000);

function contract(backend: StoreBackend) {
  describe(`LibraryStore contract: ${backend.name}`, { skip: backend.unavailable }, () => {
    let lib: TestLibrary;
    let store: LibraryStore;
    beforeEach(async () => {
      lib = await backend.create();
      store = lib.store;
      await store.ensureCollection('main', DIMS, 'embed-a');
    });
    afterEach(async () => lib.cleanup());

    test('a committed item is visible with its vector and keyword rows; the dimension is enforced', async () => {
      await store.ensureCollection('main', DIMS, 'embed-a');
      await assert.rejects(store.ensureCollection('main', DIMS * 2, 'embed-a'), DimensionMismatchError);
      const input = commitInput({ name: 'm1', caption: '今天也很开心', tags: ['猫猫'] });
      assert.equal(await store.hasVector(input.facts.md5, 'main'), false);
      await store.saveDescription(input.descriptionKey, input.description);
      const { memeId, memeCreated } = await store.commitItem(input);
      assert.equal(memeCreated, true);
      assert.equal(await store.hasVector(input.facts.md5, 'main'), true);
      const meme = await store.findMemeByMd5(input.facts.md5);
      assert.deepEqual(meme && { id: meme.id, key: meme.storageKey, tags: meme.tags }, { id: memeId, key: input.storageKey, tags: ['猫猫'] });
      assert.equal(await store.isStorageKeyReferenced(input.storageKey), true);
      assert.equal(await store.isStorageKeyReferenced('00/none.png'), false);
      const { hits } = await store.vectorSearch('main', input.vector, 1, { tags: [] });
      assert.equal(hits[0]?.memeId, memeId);
      assert.ok(hits[0]!.distance < 1e-4);
      assert.deepEqual((await store.keywordSearch({ text: '开心' }, 5, { tags: [] })).map((h) => h.memeId), [memeId]);
      const recalled = (await store.recalledMemes([memeId])).get(memeId)!;
      assert.equal(recalled.ocrText, '今天也很开心');
      assert.ok(recalled.indexedTerms.join(' ').includes('开心'));
      assert.deepEqual(await store.collectionInfo('main'), { name: 'main', dims: DIMS, model: 'embed-a', size: 1 });
      assert.equal(await store.collectionInfo('nothing'), undefined);
    });

    test('one meme per md5: another collection and another source reuse it', async () => {
      const first = await addMeme(store, { name: 'm1' });
      await store.ensureCollection('other', DIMS, 'embed-b');
      const again = await store.commitItem({ ...commitInput({ name: 'm1', sourceType: 'dir:b', collection: 'other' }) });
      assert.deepEqual(again, { memeId: first, memeCreated: false, alreadyEmbedded: false });
      // A worker whose claim ran out while it worked commits after the one that took the item over: its vector is not stored twice.
      const late = await store.commitItem({ ...commitInput({ name: 'm1', sourceType: 'dir:late', axis: 3 }) });
      assert.deepEqual(late, { memeId: first, memeCreated: false, alreadyEmbedded: true });
      assert.equal((await store.collectionInfo('main'))?.size, 1, 'still one vector');
      const [kept] = (await store.vectorSearch('main', vectorFor(0, 'm1'), 1, { tags: [] })).hits;
      assert.ok(kept && kept.memeId === first && kept.distance < 1e-3, `the first vector stays: ${JSON.stringify(kept)}`);
      assert.deepEqual((await store.memeDetails(md5Of('m1')))?.sources.map((x) => x.sourceType), ['staging:a', 'dir:b', 'dir:late']);
      await store.linkSource({ sourceType: 'dir:c', sourceId: 'x', path: '/x', category: 'c', tags: [] }, first);
      for (const source of ['staging:a', 'dir:b', 'dir:c']) {
        const { hits } = await store.vectorSearch('main', vectorFor(0, 'm1'), 5, { tags: [], source });
        assert.deepEqual(hits.map((h) => h.memeId), [first], source);
      }
      const replaced = await store.commitItem({ ...commitInput({ name: 'm1', axis: 3 }), replace: true });
      assert.equal(replaced.memeId, first);
      assert.equal((await store.collectionInfo('main'))?.size, 1, 'replace leaves one vector');
    });

    test('descriptions are keyed, never overwritten, and the newest is reused', async () => {
      const md5 = md5Of('d');
      const key = { md5, vlmModel: 'vlm-a', promptVersion: '1' };
      assert.equal(await store.findDescription(key), undefined);
      await store.saveDescription(key, { ocrText: '第一', description: 'd1', emotions: ['a'] });
      await store.saveDescription(key, { ocrText: '第二', description: 'd2', emotions: [] });
      assert.deepEqual(await store.findDescription(key), { ocrText: '第一', description: 'd1', emotions: ['a'] });
      const newer = { md5, vlmModel: 'vlm-b', promptVersion: '2' };
      await store.saveDescription(newer, { ocrText: '新', description: 'd3', emotions: [] });
      assert.deepEqual(await store.findLatestDescription(md5), { key: newer, description: { ocrText: '新', description: 'd3', emotions: [] } });
      assert.equal(await store.findLatestDescription(md5Of('none')), undefined);
      // Some providers report fractional token counts; the paid description is kept all the same.
      const fractional = { md5: md5Of('f'), vlmModel: 'vlm-a', promptVersion: '1' };
      await store.saveDescription(fractional, { ocrText: 'f', description: 'd', emotions: [], usage: { promptTokens: 101.07, completionTokens: 12 } });
      assert.equal((await store.findDescription(fractional))?.ocrText, 'f');
    });

    test('redescribe: stale memes are those whose vector came from another description; replacing moves vector and keywords', async () => {
      const ids = { s1: await addMeme(store, { name: 's1', animated: true }), s2: await addMeme(store, { name: 's2', animated: true }) };
      await addMeme(store, { name: 's3' });
      const filter = { collection: 'main', current: { vlmModel: 'vlm-b', promptVersion: '2' }, animatedOnly: true };
      assert.deepEqual(await store.countStale(filter), { memes: 2, toDescribe: 2 });
      assert.deepEqual(await store.countStale({ ...filter, animatedOnly: false }), { memes: 3, toDescribe: 3 });
      assert.deepEqual(await store.countStale({ ...filter, current: { vlmModel: 'vlm-a', promptVersion: '1' } }), { memes: 0, toDescribe: 0 });
      const newKey = { md5: md5Of('s1'), vlmModel: 'vlm-b', promptVersion: '2' };
      const description = { ocrText: '整理一下发型', description: '动图：整理发型', emotions: [] };
      await store.saveDescription(newKey, description);
      assert.deepEqual(await store.countStale(filter), { memes: 2, toDescribe: 1 });
      const stale = await store.findStale(filter, 0, 10);
      assert.deepEqual(stale.map((m) => [m.memeId, m.md5, m.described, m.category]), [
        [ids.s1, md5Of('s1'), true, '熊猫头'],
        [ids.s2, md5Of('s2'), false, '熊猫头'],
      ]);
      assert.deepEqual((await store.findStale(filter, ids.s1, 10)).map((m) => m.memeId), [ids.s2]);

      const change = { memeId: ids.s1, md5: md5Of('s1'), embeddingModel: 'embed-a', descriptionKey: newKey, description, vector: vectorFor(7, 's1') };
      assert.equal(await store.replaceDescription('main', change), true);
      assert.deepEqual(await store.countStale(filter), { memes: 1, toDescribe: 1 });
      assert.deepEqual((await store.keywordSearch({ text: '发型' }, 5, { tags: [] })).map((h) => h.memeId), [ids.s1]);
      assert.deepEqual((await store.keywordSearch({ text: 's1' }, 5, { tags: [] })).map((h) => h.memeId), [], 'the old caption is gone');
      const { hits } = await store.vectorSearch('main', vectorFor(7, 's1'), 1, { tags: [], animated: true });
      assert.equal(hits[0]?.memeId, ids.s1);
      assert.equal((await store.collectionInfo('main'))?.size, 3, 'replaced, not added');
      await store.ensureCollection('other', DIMS, 'embed-b');
      assert.equal(await store.replaceDescription('other', change), false, 'no vector in that collection');
      await assert.rejects(store.replaceDescription('main', { ...change, vector: new Float32Array(DIMS + 1) }));
    });

    test('item claims are exclusive between owners, per collection, and taken over after the lease', async () => {
      const other = await lib.connect();
      const [a, b] = [newOwnerId(), newOwnerId()];
      // m1's lease is short enough to wait out below, and long enough to outlast the checks before it on a loaded machine.
      const LEASE_MS = 2500;
      assert.deepEqual([...(await store.claimItems(['m1', 'm2'], 'main', a, 60_000))].sort(), ['m1', 'm2']);
      assert.deepEqual([...(await store.claimItems(['m1'], 'main', a, LEASE_MS))], ['m1'], 're-entrant');
      const renewedAt = Date.now();
      assert.deepEqual([...(await other.claimItems(['m1', 'm2', 'm3'], 'main', b, 60_000))], ['m3']);
      assert.deepEqual([...(await other.claimItems(['m1'], 'other', b, 60_000))], ['m1'], 'claims are per collection');
      await other.releaseItems(['m1'], 'main', b);
      assert.equal((await other.claimItems(['m1'], 'main', b, 60_000)).size, 0, "releasing another owner's claim does nothing");
      await store.releaseItems(['m2'], 'main', a);
      assert.deepEqual([...(await other.claimItems(['m2'], 'main', b, 60_000))], ['m2'], 'released');
      await sleep(renewedAt + LEASE_MS + 100 - Date.now());
      assert.deepEqual([...(await other.claimItems(['m1'], 'main', b, 60_000))], ['m1'], 'the lease ran out');
    });

    test('renewClaims keeps an owner’s item and job claims beyond their first lease', async () => {
      const other = await lib.connect();
      const [a, b] = [newOwnerId(), newOwnerId()];
      await store.recordFailure(failure('j1'), inAMinute);
      await store.claimItems(['m1'], 'main', a, 400);
      assert.equal((await store.claimDueJobs({ collection: 'main', now: later(), afterId: 0, limit: 10, includeDead: false }, a, 400)).length, 1);
      assert.equal(await store.renewClaims(a, 60_000), 2);
      await sleep(800);
      assert.equal((await other.claimItems(['m1'], 'main', b, 60_000)).size, 0);
      assert.equal((await other.claimDueJobs({ collection: 'main', now: later(), afterId: 0, limit: 10, includeDead: false }, b, 60_000)).length, 0);
    });

    test('job lifecycle: failure → due → claimed once → done; permanent → dead; released and expired claims come back', async () => {
      const other = await lib.connect();
      const [a, b] = [newOwnerId(), newOwnerId()];
      const filter = (now: Date, includeDead = false) => ({ collection: 'main', now, afterId: 0, limit: 10, includeDead });
      const first = await store.recordFailure(failure('j1'), inAMinute);
      assert.deepEqual([first.attempt, first.status], [1, 'failed']);
      assert.equal((await store.recordFailure(failure('j1'), inAMinute)).attempt, 2);
      await store.recordFailure(failure('j2', true), () => ({ status: 'dead', nextRetryAt: null }));
      assert.equal((await store.countJobs('main', new Date())).due, 0, 'not due before its retry time');
      assert.deepEqual(await store.countJobs('main', later()), { pending: 0, processing: 0, done: 0, failed: 1, dead: 1, due: 1 });
      assert.equal((await store.claimDueJobs(filter(new Date()), a, 60_000)).length, 0);
      const [job] = await store.claimDueJobs(filter(later()), a, 60_000);
      assert.deepEqual(job && { id: job.sourceId, status: job.status, attempts: job.attempts, payload: job.payload }, {
        id: 'j1', status: 'failed', attempts: 2, payload: { path: '/x/j1.png', category: '猫猫', tags: ['开心'] },
      });
      assert.equal((await other.claimDueJobs(filter(later()), b, 60_000)).length, 0, 'a claimed job is not claimed twice');
      assert.equal(await store.releaseJobClaims(a), 1);
      assert.equal((await store.countJobs('main', new Date())).pending, 1, 'released: pending and due at once');
      assert.deepEqual((await other.claimDueJobs(filter(new Date(), true), b, 400)).map((j) => j.sourceId).sort(), ['j1', 'j2']);
      await sleep(800);
      assert.equal((await store.claimDueJobs(filter(new Date()), a, 60_000)).length, 2, 'expired claims are due again');
      await store.markJobDone('staging:a', 'j1', 'main');
      assert.equal((await store.findJob('staging:a', 'j1', 'main'))?.status, 'done');
      assert.equal((await store.recordFailure(failure('j1'), inAMinute)).attempt, 1, 'a job that succeeded once starts a new count');
      const byReason = await store.claimDueJobs({ ...filter(later(), true), reason: 'service unavailable' }, b, 60_000);
      assert.equal(byReason.length, 1);
    });

    test('backfill lists described memes without a vector and commits each once', async () => {
      const [m1, m2] = [await addMeme(store, { name: 'm1' }), await addMeme(store, { name: 'm2', caption: '无语' })];
      await store.ensureCollection('next', 8, 'embed-b');
      assert.deepEqual(await store.countUnembedded('next'), { described: 2, undescribed: 0 });
      const found = await store.findUnembedded('next', 0, 10);
      assert.deepEqual(found.map((c) => [c.memeId, c.description.ocrText]), [[m1, 'm1'], [m2, '无语']]);
      assert.deepEqual((await store.findUnembedded('next', m1, 10)).map((c) => c.memeId), [m2]);
      const batch = found.map((candidate, i) => ({ candidate, vector: vectorFor(i, 'next').slice(0, 8) }));
      assert.deepEqual((await store.commitVectors('next', 'embed-b', batch)).sort(), [md5Of('m1'), md5Of('m2')].sort());
      assert.deepEqual(await store.commitVectors('next', 'embed-b', batch), [], 'already there: nothing written');
      assert.deepEqual(await store.countUnembedded('next'), { described: 0, undescribed: 0 });
      assert.equal((await store.collectionInfo('next'))?.size, 2);
    });

    test('recall: every filter returns k when k match; keyword finds a two-character word; an exact caption ranks first', async () => {
      const made: Array<MemeSpec & { id: number }> = [];
      for (let i = 0; i < 40; i++) {
        const spec = {
          name: `r${i}`,
          caption: `表情${i}`,
          category: i % 2 ? '猫猫' : '熊猫头',
          tags: i % 3 ? ['开心'] : ['无语', '开心'],
          animated: i % 4 === 0,
          sourceType: i % 5 ? 'staging:a' : 'dir:b',
          axis: i % 3,
        };
        made.push({ ...spec, id: await addMeme(store, spec) });
      }
      const cases: RecallFilters[] = [
        { tags: [] },
        { tags: ['无语'] },
        { tags: ['无语', '开心'] },
        { tags: [], category: '猫猫' },
        { tags: [], animated: true },
        { tags: [], animated: false },
        { tags: [], source: 'dir:b' },
        { tags: ['无语'], category: '熊猫头', animated: false },
      ];
      const passes = (m: MemeSpec, f: RecallFilters) =>
        f.tags.every((t) => m.tags!.includes(t)) &&
        (f.category === undefined || m.category === f.category) &&
        (f.animated === undefined || m.animated === f.animated) &&
        (f.source === undefined || m.sourceType === f.source);
      for (const f of cases) {
        const ok = made.filter((m) => passes(m, f));
        for (const exact of [false, true]) {
          const { hits } = await store.vectorSearch('main', vectorFor(1), 5, f, { exact });
          assert.equal(hits.length, Math.min(5, ok.length), JSON.stringify(f));
          assert.ok(hits.every((h) => ok.some((m) => m.id === h.memeId)), JSON.stringify(f));
          assert.ok(hits.every((h, i) => i === 0 || hits[i - 1]!.distance <= h.distance), 'nearest first');
        }
        const keyword = await store.keywordSearch({ text: '表情' }, 5, f);
        assert.equal(keyword.length, Math.min(5, ok.length), `keyword ${JSON.stringify(f)}`);
      }
      const happy = await addMeme(store, { name: 'happy', caption: '今天也很开心呢' });
      const hard = await addMeme(store, { name: 'hard', caption: '我太难了' });
      await addMeme(store, { name: 'harder', caption: '我太难了我太难了真的太难了' });
      assert.ok((await store.keywordSearch({ text: '开心' }, 3, { tags: [] })).some((h) => h.memeId === happy));
      const [top] = await store.keywordSearch({ text: '我太难了' }, 3, { tags: [] });
      assert.deepEqual(top && { id: top.memeId, exact: top.exact }, { id: hard, exact: true });
      assert.deepEqual(await store.keywordSearch({ text: '？！…' }, 3, { tags: [] }), [], 'nothing to search for');
    });

    test('keyword search for single terms and for phrases; document frequencies follow the library', async () => {
      const hungry = await addMeme(store, { name: 'hungry', caption: '饿死了', tags: ['无话可说'] });
      await addMeme(store, { name: 'scattered', caption: '可说无话' });
      const plain = await addMeme(store, { name: 'plain', caption: '今天也很开心' });
      const ids = (hits: Array<{ memeId: number; exact: boolean }>) => hits.map((h) => h.memeId).sort((a, b) => a - b);
      assert.deepEqual(ids(await store.keywordSearch({ terms: ['饿', '开'] }, 5, { tags: [] })), [hungry, plain].sort((a, b) => a - b));
      // A phrase is its bigrams in a row: 可说无话 holds 无话 and 可说 but not 话可.
      assert.deepEqual(ids(await store.keywordSearch({ phrases: ['无话可说'] }, 5, { tags: [] })), [hungry]);
      assert.deepEqual(ids(await store.keywordSearch({ phrases: ['无话可说', '开心'] }, 5, { tags: ['无话可说'] })), [hungry]);
      assert.deepEqual(await store.keywordSearch({ phrases: ['"', '。'] }, 5, { tags: [] }), []);
      assert.ok((await store.keywordSearch({ terms: ['饿'] }, 5, { tags: [] })).every((h) => !h.exact), 'only a text query marks exact captions');

      const stats = await store.documentFrequencies(['饿', '无话', '话可', '开心', '从没见过']);
      assert.equal(stats.documents, 3);
      assert.deepEqual(Object.fromEntries(stats.frequencies), { 饿: 1, 无话: 2, 话可: 1, 开心: 1 });
      await addMeme(store, { name: 'hungry-too', caption: '好饿' });
      assert.deepEqual((await store.documentFrequencies(['饿'])), { documents: 4, frequencies: new Map([['饿', 2]]) });
    });

    test('stats and describe report what the library holds', async () => {
      await addMeme(store, { name: 's1', animated: true });
      await addMeme(store, { name: 's2', sourceType: 'dir:b' });
      await store.recordFailure(failure('s3'), inAMinute);
      const stats = await store.readStats(5);
      assert.deepEqual(stats.sources, [{ source: 'dir:b', memes: 1, animated: 0, bytes: 1000 }, { source: 'staging:a', memes: 1, animated: 1, bytes: 1000 }]);
      assert.deepEqual(stats.collections, [{ collection: 'main', dims: DIMS, model: 'embed-a', vectors: 2 }]);
      assert.deepEqual(stats.jobs_by_status, [{ status: 'failed', count: 1 }]);
      assert.deepEqual(stats.top_failure_reasons, [{ stage: 'embed', reason: 'HTTP 503 Service Unavailable', count: 1 }]);
      assert.equal(stats.descriptions_by_model[0]?.count, 2);
      // Stills first; no cost was recorded with these descriptions, so no averages.
      const unmeasured = { vlm_model: 'vlm-a', prompt_version: '1', count: 1, measured: 0, frames_per_image: null, ms_per_image: null, prompt_tokens_per_image: null };
      assert.deepEqual(stats.description_costs, [{ ...unmeasured, kind: 'still' }, { ...unmeasured, kind: 'animated' }]);
      assert.deepEqual(stats.storage, { bytes: 2000, memes: 2 });
      const d = await store.describe();
      assert.deepEqual([d.exists, d.schemaVersion, d.memes], [true, d.latestVersion, 2]);
      assert.deepEqual(d.collections, [{ name: 'main', dims: DIMS, model: 'embed-a' }]);
    });

    test('browse: one meme with its newest description and every source; the change mark moves with other writers', async () => {
      const id = await addMeme(store, { name: 'b1', caption: '我太难了', tags: ['打工人'], animated: true });
      const md5 = md5Of('b1');
      await store.linkSource({ sourceType: 'dir:b', sourceId: 'again', path: '/x', category: 'c', tags: [], sourceUrl: 'https://example.com/b1' }, id);
      await store.saveDescription({ md5, vlmModel: 'vlm-b', promptVersion: '2' }, { ocrText: '我太难了', description: '新的描述', emotions: ['累'] });
      const meme = await store.memeDetails(md5);
      assert.ok(meme);
      assert.deepEqual(
        { id: meme.id, key: meme.storageKey, animated: meme.isAnimated, frames: meme.frames, tags: meme.tags, size: meme.fileSize },
        { id, key: commitInput({ name: 'b1', animated: true }).storageKey, animated: true, frames: 4, tags: ['打工人'], size: 1000 },
      );
      assert.deepEqual([meme.description, meme.ocrText, meme.emotions, meme.describedBy], ['新的描述', '我太难了', ['累'], { vlmModel: 'vlm-b', promptVersion: '2' }]);
      assert.deepEqual(meme.sources, [
        { sourceType: 'staging:a', sourceId: 'b1', sourceUrl: null },
        { sourceType: 'dir:b', sourceId: 'again', sourceUrl: 'https://example.com/b1' },
      ]);
      assert.ok(!Number.isNaN(Date.parse(meme.createdAt)), meme.createdAt);
      assert.equal(await store.memeDetails(md5Of('none')), undefined);

      const reader = await lib.connect();
      const before = await reader.changeMark();
      if (before === undefined) return; // a backend that cannot tell: callers only cache briefly
      assert.equal(await reader.changeMark(), before, 'nothing committed: the same mark');
      await addMeme(store, { name: 'b2' });
      assert.notEqual(await reader.changeMark(), before, 'another connection committed');
    });
  });
}

for (const backend of STORE_BACKENDS) contract(backend);
