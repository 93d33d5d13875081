/**
 * `npm run bench:pictures -- [--n 100000] [--queries 50] [--keep]`
 *
 * Finding memes by picture, three figures:
 *   hash    perceptual hashes at ingest: ms per image (the sample images and
 *           the real-images fixtures, decoded from their bytes, as ingest does);
 *   dupes   `emomo dupes` (no merge) over a library of n memes with generated
 *           hashes (layout-alike pictures, families of near copies, re-captioned
 *           copies, unrelated ones: see buildPhase): seconds and peak RSS of
 *           its own process (`--phase dupes --dir D` runs it alone on a kept library);
 *   recall  `recall --image` p50 / p95 over n image vectors (the offline
 *           signature collection), end to end: decoding the query picture,
 *           its signature, the vector search, folding copies, fetching hits.
 * The library is written once through the store's own commit (batched); dupes and
 * recall each run in a child process so their RSS is their own.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hashImage, type PictureHashes } from '../src/images/phash.js';
import { stillFromFile } from '../src/images/vlm-input.js';
import { probeImage } from '../src/images/probe.js';
import { findDuplicates } from '../src/pipeline/dupes-service.js';
import { recall } from '../src/pipeline/recall-service.js';
import { LocalImageEmbedder } from '../src/providers/embedding/local-image-embedder.js';
import { LocalStorage } from '../src/storage/local-storage.js';
import { objectKey } from '../src/storage/object-key.js';
import { openDatabase } from '../src/store/sqlite/database.js';
import { commitItem, saveDescription } from '../src/store/sqlite/ingest-queries.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { ensureVectorTable } from '../src/store/sqlite/vector-tables.js';
import { makeVariant, sampleEntries, VARIANT_KINDS } from '../test/helpers/picture-variants.js';
import { seededRandom } from '../test/helpers/seeded-random.js';
import { realImagesDir, sampleDir } from '../test/helpers/workspace.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '50' },
    phase: { type: 'string' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const n = Number(values.n);
const LIMITS = { maxPixels: 50_000_000 };
const COLLECTION = 'pictures';
const random = seededRandom(0x5eed);
const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const rssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
const stills = () => sampleEntries().filter((e) => !e.is_animated);
const sampleBytes = (filename: string) => fs.readFileSync(path.join(sampleDir, 'images', filename));

/** Perceptual hashes per image, as ingest computes them (decode included). */
async function hashPhase() {
  const files = [
    ...sampleEntries().map((e) => path.join(sampleDir, 'images', e.filename)),
    ...fs.readdirSync(realImagesDir).filter((f) => /\.(jpe?g|png|webp|gif)$/i.test(f)).map((f) => path.join(realImagesDir, f)),
  ];
  // The fixtures hold broken files on purpose (truncated, bombs): only images ingest would hash are timed.
  const good: Array<{ bytes: Buffer; pixels: number }> = [];
  for (const file of files) {
    const bytes = fs.readFileSync(file);
    const facts = await probeImage(bytes, LIMITS).catch(() => undefined);
    if (facts && facts.width * facts.height <= 40_000_000 && (await hashImage(bytes, LIMITS).then(() => true, () => false))) good.push({ bytes, pixels: facts.width * facts.height });
  }
  const times: number[] = [];
  for (let round = 0; round < 3; round++) {
    for (const { bytes } of good) {
      const t = performance.now();
      await hashImage(bytes, LIMITS);
      times.push(performance.now() - t);
    }
  }
  const pixels = good.reduce((sum, g) => sum + g.pixels, 0);
  const images = good.length;
  return { images, mean_megapixels: round(pixels / images / 1e6), p50_ms: round(percentile(times, 0.5)), p95_ms: round(percentile(times, 0.95)), mean_ms: round(times.reduce((a, b) => a + b, 0) / times.length) };
}

const hex = (bits: bigint) => bits.toString(16).padStart(16, '0');
const randomBits = () => (BigInt(Math.floor(random() * 2 ** 32)) << 32n) | BigInt(Math.floor(random() * 2 ** 32));
function flip(bits: bigint, count: number): bigint {
  for (let i = 0; i < count; i++) bits ^= 1n << BigInt(Math.floor(random() * 64));
  return bits;
}
const byteHex = (v: number) => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, '0');
const randomColours = () => Array.from({ length: 12 }, () => byteHex(random() * 256)).join('');
const jitter = (colours: string, by: number) => colours.replace(/../g, (b) => byteHex(parseInt(b, 16) + (random() - 0.5) * 2 * by));
function unit(v: Float32Array): Float32Array {
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

/** n memes: the sample stills with their real hashes and signatures, then generated ones (a tenth near copies). */
async function buildPhase(dir: string) {
  await new SqliteStore(path.join(dir, 'bench.db')).close(); // the schema, migrated as any library
  // The store's own commit, in batches of one transaction each (one transaction per meme would take the
  // generator longer than the figures it prepares).
  const db = openDatabase(path.join(dir, 'bench.db'));
  const embedder = new LocalImageEmbedder();
  const coll = ensureVectorTable(db, COLLECTION, embedder.dimensions, embedder.model);
  const started = performance.now();
  let id = 0;
  const commit = (caption: string, hashes: PictureHashes, vector: Float32Array, category: string) => {
    const md5 = `${(++id).toString(16).padStart(8, '0')}${'0'.repeat(24)}`;
    const facts = { md5, format: 'png' as const, ext: 'png', width: 300, height: 300, frames: 1, isAnimated: false, fileSize: 10_000 + id };
    const description = { ocrText: caption, description: `${category}表情包`, emotions: [] };
    const descriptionKey = { md5, vlmModel: 'bench', promptVersion: '1' };
    saveDescription(db, descriptionKey, description);
    const item = { sourceType: 'staging:bench', sourceId: String(id), path: `/bench/${id}.png`, category, tags: [category] };
    commitItem(db, coll, { item, facts, storageKey: objectKey(md5, 'png'), description, descriptionKey, collection: COLLECTION, embeddingModel: embedder.model, vector, replace: false, hashes });
  };
  const real: Array<{ caption: string; category: string; hashes: PictureHashes; vector: Float32Array }> = [];
  for (const e of stills()) {
    const bytes = sampleBytes(e.filename);
    const [vector] = await embedder.embedImages([await stillFromFile(bytes, LIMITS)]);
    real.push({ caption: e.caption, category: e.category, hashes: await hashImage(bytes, LIMITS), vector: vector! });
  }
  db.transaction(() => real.forEach((r) => commit(r.caption, r.hashes, r.vector, r.category)))();
  // Memes as a library holds them: a third drawn on one of a few hundred layouts (the same frame and
  // white caption bar, 8-15 bits from the layout: close enough to crowd the hash buckets, too far to be
  // one picture), the rest unrelated; 15 % are copies of an earlier one (1-3 bits, colours a touch
  // off), a few popular memes copied many times, and one copy in five re-captioned (a template variant).
  const layouts = Array.from({ length: 300 }, () => ({ bits: randomBits(), colours: randomColours() }));
  const bases: Array<{ bits: bigint; colours: string; caption: string }> = [];
  const generated = db.transaction((count: number) => {
    for (let i = 0; i < count && id < n; i++) {
      let meme: { bits: bigint; colours: string; caption: string };
      if (bases.length > 0 && random() < 0.15) {
        const base = bases[Math.floor(bases.length * random() ** 3)]!;
        meme = { bits: flip(base.bits, 1 + Math.floor(random() * 3)), colours: jitter(base.colours, 2), caption: random() < 0.2 ? `新字幕${id}` : base.caption };
      } else {
        const layout = random() < 0.35 ? layouts[Math.floor(random() * layouts.length)]! : undefined;
        meme = layout
          ? { bits: flip(layout.bits, 8 + Math.floor(random() * 8)), colours: jitter(layout.colours, 6), caption: `字幕${id}` }
          : { bits: randomBits(), colours: randomColours(), caption: `字幕${id}` };
        bases.push(meme);
      }
      const hashes = { phash: hex(flip(meme.bits, 2)), picture: hex(meme.bits), colours: meme.colours };
      // Signature-like vectors: a real sample's signature pushed far off, so the samples stay findable among them.
      const near = real[Math.floor(random() * real.length)]!.vector;
      commit(meme.caption, hashes, unit(near.map((x) => x + (random() - 0.5) * 0.3)), `c${id % 10}`);
    }
  });
  while (id < n) generated(5000);
  db.close();
  return { memes: id, build_s: round((performance.now() - started) / 1000, 1) };
}

async function dupesPhase(dir: string) {
  const store = new SqliteStore(path.join(dir, 'bench.db'));
  const storage = new LocalStorage(path.join(dir, 'objects'));
  const before = Math.round(process.memoryUsage().rss / 1024 / 1024);
  const started = performance.now();
  const result = await findDuplicates({ store, storage, limits: LIMITS, redact: (s) => s }, { merge: false, force: false, examples: 5 });
  const seconds = (performance.now() - started) / 1000;
  const copies = result.duplicates.reduce((k, g) => k + g.copies.length, 0);
  return { memes: result.memes, seconds: round(seconds), duplicate_groups: result.duplicates.length, copies, variant_groups: result.variants.length, rss_before_mb: before, peak_rss_mb: rssMb() };
}

async function recallPhase(dir: string, queries: number) {
  const store = new SqliteStore(path.join(dir, 'bench.db'));
  const storage = new LocalStorage(path.join(dir, 'objects'));
  const embedder = new LocalImageEmbedder();
  const entries = stills();
  const pictures: Buffer[] = [];
  for (let i = 0; i < queries; i++) {
    const e = entries[i % entries.length]!;
    pictures.push((await makeVariant(sampleBytes(e.filename), VARIANT_KINDS[i % 4]!)).bytes);
  }
  const deps = { index: store, collection: COLLECTION, embedder: () => embedder, storage };
  const search = async (bytes: Buffer) => {
    const picture = await stillFromFile(bytes, LIMITS);
    return recall(deps, { query: '', mode: 'hybrid', topK: 10, filters: { tags: [] }, timeoutMs: 10_000, picture });
  };
  await search(pictures[0]!); // warm-up: page cache and the signature code, as in a running process
  const times: number[] = [];
  const stages: Record<string, number[]> = { image: [], collapse: [], fetch: [] };
  for (const p of pictures) {
    const t = performance.now();
    const r = await search(p);
    times.push(performance.now() - t);
    for (const s of Object.keys(stages)) stages[s]!.push((r.timings as Record<string, number>)[s] ?? 0);
    if (r.failed) throw new Error(r.reason);
  }
  const p50 = (xs: number[]) => round(percentile(xs, 0.5));
  return { vectors: n, queries, p50_ms: p50(times), p95_ms: round(percentile(times, 0.95)), stage_p50_ms: Object.fromEntries(Object.entries(stages).map(([s, xs]) => [s, p50(xs)])), peak_rss_mb: rssMb() };
}

const self = fileURLToPath(import.meta.url);
const child = (phase: string, dir: string) =>
  JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', self, '--phase', phase, '--dir', dir, '--n', String(n), '--queries', values.queries!], { encoding: 'utf8' }).trim().split('\n').pop()!);

if (values.phase) {
  const dir = values.dir!;
  const out = values.phase === 'dupes' ? await dupesPhase(dir) : values.phase === 'recall' ? await recallPhase(dir, Number(values.queries)) : await buildPhase(dir);
  console.log(JSON.stringify(out));
} else {
  const load = os.loadavg()[0]!.toFixed(1);
  const hash = await hashPhase();
  console.table([hash]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-pictures-bench-'));
  try {
    const build = child('build', dir);
    process.stderr.write(`library: ${build.memes} memes with hashes and picture vectors in ${build.build_s} s\n`);
    const dupes = child('dupes', dir);
    console.table([dupes]);
    const found = child('recall', dir);
    console.table([{ ...found, stage_p50_ms: JSON.stringify(found.stage_p50_ms) }]);
    console.log(JSON.stringify({ load_1min: Number(load), hash, dupes, recall_image: found }));
  } finally {
    if (!values.keep) fs.rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`kept ${dir}\n`);
  }
}
