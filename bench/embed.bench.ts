/**
 * `npm run bench:embed [-- --n 10000]`: backfilling a new collection from
 * stored descriptions. Reports embedding requests per item for several batch
 * sizes (a counting wrapper around the local embedder) and the wall time of a
 * full backfill of n memes with the local embedder.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { backfillEmbeddings } from '../src/pipeline/embed-service.js';
import type { Embedder, EmbedMode } from '../src/ports.js';
import { LocalEmbedder } from '../src/providers/embedding/local-embedder.js';
import { newOwnerId } from '../src/store/claim-owner.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '10000' }, dims: { type: 'string', default: '512' } } });
const N = Number(values.n);
const DIMS = Number(values.dims);

class Counting implements Embedder {
  requests = 0;
  texts = 0;
  constructor(private readonly inner: Embedder) {}
  get model() {
    return this.inner.model;
  }
  get dimensions() {
    return this.inner.dimensions;
  }
  embed(texts: string[], mode: EmbedMode): Promise<Float32Array[]> {
    this.requests++;
    this.texts += texts.length;
    return this.inner.embed(texts, mode);
  }
}

async function buildLibrary(store: SqliteStore, n: number): Promise<void> {
  await store.ensureCollection('base', 8, 'seed');
  const captions = ['我太难了', '无语', '打工人', '摸鱼', '绝绝子', '破防了', '好家伙', '栓Q'];
  for (let i = 0; i < n; i++) {
    const md5 = createHash('md5').update(`bench ${i}`).digest('hex');
    const caption = `${captions[i % captions.length]} ${i}`;
    const description = { ocrText: caption, description: `熊猫头表情包，配文「${caption}」，表达无奈`, emotions: ['无奈', '委屈'] };
    const descriptionKey = { md5, vlmModel: 'bench-vlm', promptVersion: '1' };
    await store.saveDescription(descriptionKey, description);
    await store.commitItem({
      item: { sourceType: 'staging:bench', sourceId: `b${i}`, path: `/bench/${i}.png`, category: '熊猫头', tags: ['熊猫头', '无奈'] },
      facts: { md5, format: 'png', ext: 'png', width: 200, height: 200, frames: 1, isAnimated: false, fileSize: 20_000 },
      storageKey: `${md5.slice(0, 2)}/${md5}.png`,
      description,
      descriptionKey,
      collection: 'base',
      embeddingModel: 'seed',
      vector: new Float32Array(8).fill(1 / Math.sqrt(8)),
      replace: false,
    });
  }
}

async function backfill(store: SqliteStore, collection: string, batchSize: number, limit: number) {
  const embedder = new Counting(new LocalEmbedder({ dimensions: DIMS, model: 'local-lexical-v1' }));
  await store.ensureCollection(collection, DIMS, embedder.model);
  const started = performance.now();
  const summary = await backfillEmbeddings(
    { store, embedder, redact: (t) => t, owner: newOwnerId() },
    { collection, batchSize, limit },
  );
  return { summary, embedder, seconds: (performance.now() - started) / 1000 };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-bench-embed-'));
try {
  const store = new SqliteStore(path.join(dir, 'emomo.db'));
  let t = performance.now();
  await buildLibrary(store, N);
  console.log(`library: ${N} described memes built in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  console.log('\nrequests per item (first 2,000 memes):');
  for (const batch of [1, 8, 32, 128]) {
    const { embedder, summary } = await backfill(store, `rpi-${batch}`, batch, Math.min(2000, N));
    console.log(`  --batch-size ${String(batch).padStart(3)}: ${embedder.requests} requests for ${summary.embedded} memes = ${(embedder.requests / summary.embedded).toFixed(4)} per item`);
  }

  t = performance.now();
  const full = await backfill(store, 'full', 32, 0);
  const rate = full.summary.embedded / full.seconds;
  console.log(`\nfull backfill: ${full.summary.embedded} memes, ${DIMS} dims, batch 32, local embedder: ${full.seconds.toFixed(1)} s (${rate.toFixed(0)} memes/s)`);
  t = performance.now();
  const again = await backfill(store, 'full', 32, 0);
  console.log(`second run (nothing missing): ${again.summary.embedded} embedded, ${again.embedder.requests} requests, ${((performance.now() - t) / 1000).toFixed(2)} s`);
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  await store.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
