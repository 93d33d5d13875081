/**
 * The real memes of shared/fixtures/real-memes ingested with the offline
 * defaults: every caption of an animated GIF ends up in its ocr_text, not
 * only the first frame's, and what the later frames say finds the meme.
 * The GIFs and what their frames say are listed in helpers/animated-captions.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { probeImage } from '../../src/images/probe.js';
import { prepareVlmFrames } from '../../src/images/vlm-input.js';
import { comparable as mergeKey, editDistance } from '../../src/providers/vlm/caption-merge.js';
import { LocalDescriber } from '../../src/providers/vlm/local-describer.js';
import { ANIMATED_CAPTIONS } from '../helpers/animated-captions.js';
import { recallInProcess } from '../helpers/recall-json.js';
import { runIngest } from '../helpers/run-ingest.js';
import { makeWorkspace, realMemesDir, type Workspace } from '../helpers/workspace.js';

const comparable = (text: string) => text.replace(/\s+/g, '').toLowerCase();
const LIMITS = { maxPixels: 50_000_000 };

describe('animated real memes, offline defaults', () => {
  let ws: Workspace;
  /** source id (path under real-memes) → { md5, ocr_text } */
  const memes = new Map<string, { md5: string; ocrText: string }>();

  before(async () => {
    ws = makeWorkspace('', 'embeddings:\n  - name: local\n    provider: local\n    dimensions: 512\n    collection: emomo-local\n');
    const run = await runIngest(ws, { source: `dir:${realMemesDir}` });
    const files = fs.readdirSync(realMemesDir, { recursive: true }).filter((f) => String(f).endsWith('.gif'));
    assert.deepEqual([run.summary.added, run.summary.failed], [files.length, 0], run.log);
    const db = new Database(ws.db, { readonly: true });
    const rows = db
      .prepare(
        `SELECT s.source_id, m.md5, d.ocr_text FROM meme_sources s JOIN memes m ON m.id = s.meme_id
         JOIN meme_descriptions d ON d.md5 = m.md5`,
      )
      .all() as Array<{ source_id: string; md5: string; ocr_text: string }>;
    db.close();
    for (const r of rows) memes.set(r.source_id, { md5: r.md5, ocrText: r.ocr_text });
  });
  after(() => ws?.cleanup());

  test('every caption of every listed GIF is in its ocr_text', () => {
    const misses: string[] = [];
    for (const gif of ANIMATED_CAPTIONS) {
      const meme = memes.get(gif.file);
      assert.ok(meme, `${gif.file} was not ingested`);
      for (const fragment of gif.stretches.flatMap((s) => s.fragments)) {
        if (!comparable(meme.ocrText).includes(comparable(fragment))) misses.push(`${gif.file}: ${fragment} not in ${JSON.stringify(meme.ocrText)}`);
      }
    }
    assert.deepEqual(misses, []);
  });

  test('what the later frames say finds the meme in the top 3', async () => {
    const misses: string[] = [];
    for (const gif of ANIMATED_CAPTIONS) {
      for (const query of gif.laterQueries) {
        const { json } = await recallInProcess(ws.config, query, { topK: 3 });
        const top = json.results.map((r) => r.md5);
        if (!top.includes(memes.get(gif.file)!.md5)) misses.push(`${query} → ${gif.file} not in the top 3`);
      }
    }
    assert.deepEqual(misses, []);
  });

  describe('against the first frame alone', () => {
    let firstOnly: LocalDescriber;
    before(async () => (firstOnly = await LocalDescriber.create({ maxFrames: 1, workers: 1 })));
    after(() => firstOnly?.close());
    const firstFrameReading = async (file: string) => {
      const bytes = fs.readFileSync(path.join(realMemesDir, file));
      const facts = await probeImage(bytes, LIMITS);
      const { ocrText } = await firstOnly.describe({ frames: await prepareVlmFrames(bytes, facts, LIMITS), category: '', tags: [] });
      return { ocrText, isAnimated: facts.isAnimated };
    };

    test('it misses what the later frames say (what reading several frames fixes)', async () => {
      for (const gif of ANIMATED_CAPTIONS) {
        const { ocrText } = await firstFrameReading(gif.file);
        // What only later frames show, and what OCR cannot read off frame 0 (unreadFirst).
        const readFirst = gif.stretches[0]!.fragments.filter((f) => !gif.unreadFirst?.includes(f));
        const missed = gif.stretches.flatMap((s) => s.fragments).filter((f) => !readFirst.includes(f));
        assert.ok(missed.length > 0, gif.file);
        const read = missed.filter((f) => comparable(ocrText).includes(comparable(f)));
        assert.deepEqual(read, [], `${gif.file}: the first frame alone read ${JSON.stringify(ocrText)}`);
      }
    });

    test('stills and single-caption GIFs read exactly as from the first frame; no first-frame line of a GIF is lost', async () => {
      const lost: string[] = [];
      const listed = new Set(ANIMATED_CAPTIONS.map((gif) => gif.file));
      for (const [file, meme] of memes) {
        const { ocrText, isAnimated } = await firstFrameReading(file);
        if (!isAnimated) {
          if (meme.ocrText !== ocrText) lost.push(`${file}: ${JSON.stringify(ocrText)} became ${JSON.stringify(meme.ocrText)}`);
          continue;
        }
        if (!listed.has(file)) {
          // One caption throughout: its lines exactly as the first frame reads them, in that order.
          // Lines only later frames read (a watermark, scene text) may come in between.
          if (!isSubsequence(ocrText.split('\n').filter(Boolean), meme.ocrText.split('\n'))) {
            lost.push(`${file}: ${JSON.stringify(ocrText)} became ${JSON.stringify(meme.ocrText)}`);
          }
          continue;
        }
        // A line may come back as a longer reading of itself (a caption fading in), never go missing.
        const merged = meme.ocrText.split('\n').map(mergeKey);
        for (const line of ocrText.split('\n').filter(Boolean).map(mergeKey)) {
          const kept = merged.some((m) => m.includes(line) || editDistance(m, line) <= Math.floor(Math.max(m.length, line.length) / 3));
          if (!kept) lost.push(`${file}: line ${JSON.stringify(line)} missing from ${JSON.stringify(meme.ocrText)}`);
        }
      }
      assert.deepEqual(lost, []);
    });
  });
});

/** Whether every item of `part` is in `whole`, in the same order. */
function isSubsequence(part: readonly string[], whole: readonly string[]): boolean {
  let at = 0;
  for (const item of whole) if (item === part[at]) at++;
  return at === part.length;
}
