/**
 * `emomo dupes` on the sample library plus variants of its pictures, all
 * ingested with the offline defaults (real OCR): every re-encode, resize,
 * crop and watermark copy is grouped with its original as a duplicate, no
 * unrelated pair is, and every re-captioned copy is a template variant. Then
 * `dupes --merge` folds the copies into the kept memes and verify is clean.
 * The library is ingested once into SQLite; every other backend gets a copy
 * of it made by `emomo migrate` (hashes included) before anything is merged,
 * and each backend runs dupes, the merge and verify on its own copy.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { createApp } from '../../src/app.js';
import { runDupes, runVerify, type DupesJson } from '../helpers/maintenance.js';
import { DUPLICATE_KINDS, sampleEntries, writeVariantStaging, type VariantFile } from '../helpers/picture-variants.js';
import { recallInProcess } from '../helpers/recall-json.js';
import { runIngest } from '../helpers/run-ingest.js';
import { copyToEveryBackend, type BackendLibraries } from '../helpers/library-copies.js';
import { STORE_BACKENDS } from '../helpers/store-backends.js';
import { copySample, makeWorkspace, realImagesDir, type Workspace } from '../helpers/workspace.js';

/** Every other still sample: 24 originals, 6 variants each. */
const ORIGINALS = sampleEntries()
  .filter((e) => !e.is_animated)
  .filter((_, i) => i % 2 === 0)
  .slice(0, 24)
  .map((e) => e.id);
const UNRELATED = ['320x240.jpg', 'flowers.jpeg', 'concert.jpg', 'gamma_dalai_lama_gray.jpg', 'testimgl.jpg', 'Landscape_6.jpg', 'Portrait_8.jpg', '4.webp'];

function stageUnrelated(ws: Workspace): void {
  const dir = path.join(ws.staging, 'others');
  fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
  const lines = UNRELATED.map((file, i) => {
    fs.copyFileSync(path.join(realImagesDir, file), path.join(dir, 'images', file));
    return JSON.stringify({ id: `o${i}`, filename: file, category: '照片', tags: ['照片'] });
  });
  fs.writeFileSync(path.join(dir, 'manifest.jsonl'), lines.join('\n') + '\n');
}

describe('dupes: duplicates and template variants of the sample pictures', { timeout: 900_000 }, () => {
  let ws: Workspace;
  let variants: VariantFile[];
  /** md5 → what it is: a sample id, `<sample>-<kind>`, or `o<n>` (ids are each library's own, md5s are not). */
  const what = new Map<string, string>();
  let libraries: BackendLibraries | undefined;

  before(async () => {
    ws = makeWorkspace();
    copySample(ws);
    variants = await writeVariantStaging(ws.staging, 'variants', ORIGINALS);
    stageUnrelated(ws);
    for (const source of ['staging:sample', 'staging:variants', 'staging:others']) {
      const run = await runIngest(ws, { source });
      assert.equal(run.summary.failed, 0, run.log);
    }
    const db = new Database(ws.db, { readonly: true });
    for (const r of db.prepare('SELECT md5, source_id FROM memes').all() as Array<{ md5: string; source_id: string }>) what.set(r.md5, r.source_id);
    db.close();
    libraries = await copyToEveryBackend(ws);
  });
  after(async () => {
    await libraries?.cleanup();
    ws?.cleanup();
  });

  const originOf = (md5: string) => what.get(md5)!.split('-')[0]!;
  const kindOf = (md5: string) => what.get(md5)!.split('-')[1];
  const md5Of = (name: string) => [...what].find(([, n]) => n === name)![0];

  for (const backend of STORE_BACKENDS) {
    describe(backend.name, { skip: backend.unavailable }, () => {
      let lib: Workspace;
      let found: DupesJson;
      before(async () => {
        lib = libraries!.get(backend.name);
        const run = await runDupes(lib, { examples: 1000 });
        assert.equal(run.code, 0, run.log);
        found = run.report;
      });

      test('every copy is grouped with its original (recall ≥ 0.9), no unrelated pair is (precision ≥ 0.95)', (t) => {
        assert.equal(found.hashed.added, 0, 'ingest hashed every meme already (and migrate copied the hashes)');
        assert.equal(found.memes, what.size);
        const groupOf = new Map<string, number>();
        found.duplicate_groups.forEach((g, i) => [g.kept, ...g.copies].forEach((m) => groupOf.set(m.md5, i)));
        const copies = variants.filter((v) => DUPLICATE_KINDS.includes(v.kind));
        const grouped = copies.filter((v) => groupOf.get(md5Of(v.id)) !== undefined && groupOf.get(md5Of(v.id)) === groupOf.get(md5Of(v.of)));
        const missed = copies.filter((v) => !grouped.includes(v)).map((v) => v.id);
        const recall = grouped.length / copies.length;
        let pairs = 0;
        let right = 0;
        for (const g of found.duplicate_groups) {
          const members = [g.kept, ...g.copies].map((m) => m.md5);
          for (let i = 0; i < members.length; i++) {
            for (let j = i + 1; j < members.length; j++) {
              pairs++;
              const same = originOf(members[i]!) === originOf(members[j]!) && ![members[i]!, members[j]!].some((m) => ['recaption', 'mirror'].includes(kindOf(m) ?? ''));
              if (same) right++;
            }
          }
        }
        t.diagnostic(`recall ${grouped.length}/${copies.length} = ${recall.toFixed(3)}; precision ${right}/${pairs}; missed ${missed.join(', ') || 'none'}`);
        assert.ok(recall >= 0.9, `recall ${recall.toFixed(3)}; missed ${missed.join(', ')}`);
        assert.ok(pairs > 0 && right / pairs >= 0.95, `precision ${right}/${pairs}`);
        const unrelated = found.duplicate_groups.flatMap((g) => [g.kept, ...g.copies]).filter((m) => what.get(m.md5)!.startsWith('o'));
        assert.deepEqual(unrelated, [], 'no unrelated photo is anybody’s copy');
        for (const g of found.duplicate_groups) assert.equal(g.kept.md5, md5Of(originOf(g.kept.md5)), `the original is kept over its copies: ${g.kept.reason}`);
      });

      test('every re-captioned copy is a template variant of its original, never a duplicate', () => {
        for (const v of variants.filter((f) => f.kind === 'recaption')) {
          const md5 = md5Of(v.id);
          const group = found.variant_groups.find((g) => [g.template, ...g.members].some((m) => m.md5 === md5));
          assert.ok(group, `${v.id} is in no template group`);
          assert.ok([group.template, ...group.members].some((m) => m.md5 === md5Of(v.of)), `${v.id} is not grouped with ${v.of}`);
          const dupGroup = found.duplicate_groups.find((g) => [g.kept, ...g.copies].some((m) => m.md5 === md5));
          assert.ok(!dupGroup || ![dupGroup.kept, ...dupGroup.copies].some((m) => originOf(m.md5) === v.of && m.md5 !== md5), `${v.id} is a duplicate of its original`);
        }
      });

      test('merge keeps the originals, folds sources and tags in, and verify is clean; recall finds the kept meme', async () => {
        const run = await runDupes(lib, { merge: true, examples: 1000 });
        assert.equal(run.code, 0, run.log);
        const merge = run.report.merge!;
        const expected = found.duplicate_groups.reduce((n, g) => n + g.copies.length, 0);
        assert.equal(merge.merged, expected);
        assert.deepEqual(merge.skipped, []);
        assert.equal(merge.objects_deleted, expected);
        assert.ok(merge.variants_linked > 0);
        const verify = await runVerify(lib);
        assert.equal(verify.report.consistent, true, JSON.stringify(verify.report.issues));

        const group = found.duplicate_groups.find((g) => g.copies.length >= 3)!;
        const app = createApp({ configPath: lib.config });
        try {
          const kept = (await app.store.memeDetails(group.kept.md5))!;
          const sources = kept.sources.map((s) => `${s.sourceType}:${s.sourceId}`);
          for (const copy of group.copies) assert.ok(sources.includes(`staging:variants:${what.get(copy.md5)}`), `${what.get(copy.md5)} folded into ${sources.join(', ')}`);
          assert.ok(kept.tags.includes('转发'), `tags ${kept.tags.join(',')}`);
          for (const copy of group.copies) assert.equal(await app.store.findMemeByMd5(copy.md5), undefined, `${what.get(copy.md5)} merged away`);
        } finally {
          await app.close();
        }
        const caption = group.copies[0]!.caption;
        const { json } = await recallInProcess(lib.config, caption, { topK: 3 });
        assert.equal(json.results[0]?.md5, group.kept.md5, `recall "${caption}"`);

        const again = await runDupes(lib, { examples: 1000 });
        assert.equal(again.report.counts.duplicates, 0, 'nothing left to merge');
      });

      test('a merged copy staged again is skipped as a duplicate of the kept meme, without a description', async () => {
        const run = await runIngest(lib, { source: 'staging:variants', force: false });
        assert.equal(run.summary.added, 0, run.log);
        assert.equal(run.summary.failed, 0);
      });
    });
  }
});
