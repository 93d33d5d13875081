/**
 * Recall over the committed sample set, ingested once with the offline
 * defaults (real OCR describer, local lexical embedder), on every store
 * backend: every caption finds its own meme first, and two-character words
 * find the captions holding them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createApp } from '../../src/app.js';
import { stats } from '../../src/cli/commands/stats.js';
import { Reporter } from '../../src/cli/reporter.js';
import { openLibrary } from '../../src/library/library.js';
import type { MemeJson } from '../../src/library/meme-json.js';
import type { LibraryStats } from '../../src/pipeline/stats-service.js';
import { recallInProcess } from '../helpers/recall-json.js';
import { Capture, runIngest } from '../helpers/run-ingest.js';
import { STORE_BACKENDS, type StoreBackend } from '../helpers/store-backends.js';
import { copySample, makeWorkspace, sampleEntries, type Workspace } from '../helpers/workspace.js';

const samples = sampleEntries();
/** md5 of each sample image → its manifest id. */
const idOf = new Map(samples.map((s) => [s.md5, s.id]));

function recallOverSample(backend: StoreBackend) {
  describe(`recall over the sample set: ${backend.name}`, { skip: backend.unavailable }, () => {
    let ws: Workspace;
    let drop: () => Promise<void> = async () => undefined;

    before(async () => {
      // The shipped default embedding (configs/config.yaml): local, 512 dimensions.
      ws = makeWorkspace('', 'embeddings:\n  - name: local\n    provider: local\n    dimensions: 512\n    collection: emomo-local\n');
      drop = await backend.useIn(ws);
      copySample(ws);
      const run = await runIngest(ws, { source: 'staging:sample' });
      assert.equal(run.summary.added, samples.length, run.log);
    });
    after(async () => {
      await drop();
      ws?.cleanup();
    });

    test('the default describer reads every caption exactly, the animated ones from their chosen frames', async () => {
      const library = await openLibrary({ config: ws.config, env: {} });
      const read = new Map<string, MemeJson>();
      try {
        for (const s of samples) {
          const meme = await library.meme(s.md5);
          if (meme) read.set(s.id, meme);
        }
      } finally {
        await library.close();
      }
      const misses = samples.filter((s) => read.get(s.id)?.ocr_text !== s.caption).map((s) => `${s.id}: ${s.caption} read as ${JSON.stringify(read.get(s.id)?.ocr_text)}`);
      assert.deepEqual(misses, []);
      assert.deepEqual([...new Set([...read.values()].map((m) => m.described_by?.prompt_version))], ['local-2-f4']);
      // Each animation of the sample (its picture moves under one caption) was read from several frames, each still from one.
      const frames = samples.map((s) => `${s.id}: ${s.is_animated ? 'several' : 1}`);
      assert.deepEqual(samples.map((s) => `${s.id}: ${read.get(s.id)!.frames > 1 ? 'several' : read.get(s.id)!.frames}`), frames);
      assert.ok(samples.some((s) => s.is_animated));
    });

    test('stats shows what the animated ones cost: their frames and the OCR time above a still, no tokens', async () => {
      const app = createApp({ configPath: ws.config });
      const out = new Capture();
      try {
        assert.equal(await stats({ top: 5 }, app, new Reporter({ json: true, quiet: false, verbose: false }, new Capture(), out)), 0);
      } finally {
        await app.close();
      }
      const costs = (JSON.parse(out.text) as LibraryStats).description_costs;
      const animated = samples.filter((s) => s.is_animated).length;
      const figures = costs.map((c) => [c.vlm_model, c.prompt_version, c.kind, c.count, c.measured, c.frames_per_image, c.prompt_tokens_per_image]);
      // The sample's animations each change scene once under one caption: two frames read, a still one.
      assert.deepEqual(figures, [
        ['local-ocr/ppocr-v4', 'local-2-f4', 'still', samples.length - animated, samples.length - animated, 1, null],
        ['local-ocr/ppocr-v4', 'local-2-f4', 'animated', animated, animated, 2, null],
      ]);
      const [still, anim] = costs;
      assert.ok(still!.ms_per_image! > 0 && anim!.ms_per_image! > 0, JSON.stringify(costs));
      assert.equal(anim!.extra_ms_vs_still, Math.round((anim!.ms_per_image! - still!.ms_per_image!) * 10) / 10);
      assert.equal(anim!.extra_prompt_tokens_vs_still, null);
    });

    test('hybrid: each caption returns its own meme first', async () => {
      const misses: string[] = [];
      for (const s of samples) {
        const { code, json } = await recallInProcess(ws.config, s.caption, { mode: 'hybrid', topK: 5 });
        assert.equal(code, 0);
        assert.equal(json.partial, false);
        const first = json.results[0];
        if (!first || idOf.get(first.md5) !== s.id) misses.push(`${s.caption} → ${first ? idOf.get(first.md5) : 'nothing'}`);
      }
      assert.deepEqual(misses, []);
    });

    test('vector: each caption returns its own meme first, unless a caption repeating the whole query outranks it', async () => {
      // The local embedder is lexical: "干饭人干饭魂" holds 干饭 twice and sits closer to the
      // query 干饭 than the meme captioned 干饭 itself. Anything else in first place is a miss.
      const misses: string[] = [];
      let first = 0;
      for (const s of samples) {
        const { json } = await recallInProcess(ws.config, s.caption, { mode: 'vector', topK: 5 });
        const ids = json.results.map((r) => idOf.get(r.md5));
        if (ids[0] === s.id) first++;
        else if (!(ids[1] === s.id && json.results[0]!.ocr_text.includes(s.caption))) misses.push(`${s.caption} → ${ids[0]}`);
        assert.equal(json.vector_method, 'exact'); // 48 vectors: below the quantised-index threshold
      }
      assert.deepEqual(misses, []);
      assert.ok(first >= samples.length - 2, `only ${first} of ${samples.length} first`);
    });

    for (const mode of ['keyword', 'hybrid'] as const) {
      test(`${mode}: a two-character word ranks the captions holding it in the top 3`, async () => {
        for (const word of ['开心', '无语', '离谱', '晚安']) {
          const holders = samples.filter((s) => s.caption.includes(word)).map((s) => s.id);
          const { json } = await recallInProcess(ws.config, word, { mode, topK: 3 });
          const top3 = json.results.map((r) => idOf.get(r.md5)!);
          assert.equal(top3.length, mode === 'keyword' ? Math.min(3, holders.length) : 3, `${word}: ${top3}`);
          if (holders.length <= 3) {
            for (const id of holders) assert.ok(top3.includes(id), `${word}: ${id} not in top 3 ${top3}`);
          } else {
            for (const id of top3) assert.ok(holders.includes(id), `${word}: ${id} in top 3 has no ${word} in its caption`);
          }
          if (mode === 'keyword') {
            for (const r of json.results) assert.ok(r.explain.matched_terms.includes(word), JSON.stringify(r.explain));
          }
        }
      });
    }

    test('filters narrow the sample results; the url comes from object storage', async () => {
      const { json } = await recallInProcess(ws.config, '开心', { mode: 'hybrid', tag: ['猫猫'], animated: false, topK: 20 });
      assert.ok(json.results.length > 0);
      for (const r of json.results) {
        assert.ok(r.tags.includes('猫猫'));
        assert.equal(r.is_animated, false);
        assert.equal(r.url, path.join(ws.objects, r.storage_key));
        assert.ok(fs.existsSync(r.url));
      }
    });
  });
}

for (const backend of STORE_BACKENDS) recallOverSample(backend);
