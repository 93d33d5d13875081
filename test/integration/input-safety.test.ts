/**
 * Input files are opened once and checked on the opened handle: a file
 * swapped for a symlink out of its folder between listing and reading is never
 * read, stored, described or indexed; a file over ingest.max_file_bytes is
 * refused from its size, before a byte is read.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { createApp } from '../../src/app.js';
import { buildItemProcessor } from '../../src/cli/item-processor.js';
import { ingestSource } from '../../src/pipeline/ingest-service.js';
import type { ItemOutcome } from '../../src/pipeline/outcome.js';
import type { DescribeInput, Source, SourceEntry } from '../../src/ports.js';
import { openSource } from '../../src/sources/open-source.js';
import { FakeDescriber, FakeEmbedder } from '../helpers/fakes.js';
import { writeGeneratedStaging } from '../helpers/generated-images.js';
import { libraryCounts } from '../helpers/library.js';
import { runIngest } from '../helpers/run-ingest.js';
import { listObjects, makeWorkspace, type Workspace } from '../helpers/workspace.js';

/** Passes a source through, running `swap` on each item after the source has checked and yielded it. */
class SwappingSource implements Source {
  readonly type: string;
  constructor(
    private readonly inner: Source,
    private readonly swap: (entry: SourceEntry) => void,
  ) {
    this.type = inner.type;
  }
  async *entries(signal?: AbortSignal): AsyncGenerator<SourceEntry> {
    for await (const entry of this.inner.entries(signal)) {
      this.swap(entry);
      yield entry;
    }
  }
}

/** A describer that remembers every image it was shown. */
class RecordingDescriber extends FakeDescriber {
  seen: string[] = [];
  override async describe(input: DescribeInput) {
    this.seen.push(input.tags.join(' '));
    return super.describe(input);
  }
}

const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

describe('input safety', () => {
  let ws: Workspace;
  let outsideMd5: string;
  let outside: string;

  beforeEach(async () => {
    ws = makeWorkspace();
    // A real image outside every source folder: the one thing that must never get in.
    outside = path.join(ws.dir, 'outside');
    fs.mkdirSync(path.join(outside, 'sub'), { recursive: true });
    const secret = await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 250, g: 1, b: 1 } } }).png().toBuffer();
    fs.writeFileSync(path.join(outside, 'secret.png'), secret);
    fs.writeFileSync(path.join(outside, 'sub', 'g00002.png'), secret);
    outsideMd5 = md5(secret);
  });
  afterEach(() => ws.cleanup());

  async function ingestThrough(source: Source, describer: FakeDescriber): Promise<ItemOutcome[]> {
    const app = createApp({ configPath: ws.config }, { describer, embedder: () => new FakeEmbedder(256) });
    try {
      const { config: embedding, embedder } = app.embedding();
      await app.store.ensureCollection(embedding.collection, embedding.dimensions, embedder.model);
      const processor = buildItemProcessor(app, embedding, embedder, { workers: 2, force: false, dryRun: false });
      const outcomes: ItemOutcome[] = [];
      await ingestSource(source, processor, { workers: 2, limit: 0, dryRun: false, onOutcome: (o) => outcomes.push(o) });
      return outcomes.sort((a, b) => a.sourceId.localeCompare(b.sourceId));
    } finally {
      await app.close();
    }
  }

  function assertOutsideNeverIn(describer: RecordingDescriber): void {
    assert.ok(!listObjects(ws.objects).some((key) => key.includes(outsideMd5)), 'the outside file is not stored');
    assert.ok(!describer.seen.some((tags) => tags.includes('swapped')), 'nor described');
  }

  test('a staging file swapped for a symlink out of the folder after listing is never read', async () => {
    await writeGeneratedStaging(ws.staging, 'gen', 4, (i) => (i === 1 || i === 2 ? ['swapped'] : []));
    const images = path.join(ws.staging, 'gen', 'images');
    // g2 lives in a sub-folder, which is swapped for a symlink to a folder outside instead.
    fs.mkdirSync(path.join(images, 'sub'));
    fs.renameSync(path.join(images, 'g00002.png'), path.join(images, 'sub', 'g00002.png'));
    const manifest = path.join(ws.staging, 'gen', 'manifest.jsonl');
    fs.writeFileSync(manifest, fs.readFileSync(manifest, 'utf8').replace('"g00002.png"', '"sub/g00002.png"'));

    const describer = new RecordingDescriber();
    const source = new SwappingSource(openSource('staging:gen', { stagingPath: ws.staging, chinesebqbPath: '' }), (entry) => {
      if (entry.kind !== 'item') return;
      if (entry.item.sourceId === 'g1') {
        fs.rmSync(entry.item.path);
        fs.symlinkSync(path.join(outside, 'secret.png'), entry.item.path);
      } else if (entry.item.sourceId === 'g2') {
        fs.rmSync(path.join(images, 'sub'), { recursive: true });
        fs.symlinkSync(path.join(outside, 'sub'), path.join(images, 'sub'));
      }
    });
    const outcomes = await ingestThrough(source, describer);

    assert.deepEqual(outcomes.map((o) => [o.sourceId, o.kind]), [['g0', 'added'], ['g1', 'failed'], ['g2', 'failed'], ['g3', 'added']]);
    const [g1, g2] = [outcomes[1], outcomes[2]];
    assert.ok(g1?.kind === 'failed' && g2?.kind === 'failed');
    assert.deepEqual([g1.stage, g1.permanent], ['read', true]);
    assert.match(g1.reason, /g00001\.png is a symlink, and links are never followed when a file is read; not read/);
    assert.deepEqual([g2.stage, g2.permanent], ['read', true]);
    assert.match(g2.reason, /sub\/g00002\.png leads outside the source folder .*; not read/);
    assertOutsideNeverIn(describer);
    assert.equal(describer.seen.length, 2);
    assert.deepEqual(libraryCounts(ws, ['memes', 'objects', 'fts']), { memes: 2, objects: 2, fts: 2 });
  });

  test('a dir: source file swapped for a symlink out of the folder after listing is never read', async () => {
    const folder = path.join(ws.dir, 'memes');
    await writeGeneratedStaging(ws.dir, 'memes', 3);
    fs.rmSync(path.join(folder, 'manifest.jsonl'));
    const describer = new RecordingDescriber();
    const source = new SwappingSource(openSource(`dir:${folder}`, { stagingPath: ws.staging, chinesebqbPath: '' }), (entry) => {
      if (entry.kind === 'item' && entry.item.sourceId === 'images/g00001.png') {
        fs.rmSync(entry.item.path);
        fs.symlinkSync(path.join(outside, 'secret.png'), entry.item.path);
      }
    });
    const outcomes = await ingestThrough(source, describer);
    assert.deepEqual(outcomes.map((o) => o.kind), ['added', 'failed', 'added']);
    assertOutsideNeverIn(describer);
  });

  test('files over ingest.max_file_bytes fail permanently from their size, nothing stored, run goes on', async () => {
    fs.appendFileSync(ws.config, 'ingest:\n  max_file_bytes: 50MiB\n');
    await writeGeneratedStaging(ws.staging, 'gen', 5);
    const images = path.join(ws.staging, 'gen', 'images');
    // A 24×24 PNG followed by zeros up to 700 MiB (sparse: no disk used, but a read would hold it all).
    for (const name of ['g00001.png', 'g00002.png', 'g00003.png']) fs.truncateSync(path.join(images, name), 700 * 1024 * 1024);

    const before = process.memoryUsage().rss;
    const run = await runIngest(ws, { source: 'staging:gen' }, { describer: new FakeDescriber(), embedder: () => new FakeEmbedder(256) });
    assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024, 'no file was read whole');
    assert.equal(run.code, 1);
    assert.deepEqual([run.summary.added, run.summary.failed], [2, 3]);
    for (const failure of run.summary.failures) {
      assert.equal(failure.stage, 'read');
      assert.match(failure.reason, /^file is 700 MiB, over the 50 MiB limit \(ingest\.max_file_bytes\): .*g0000[123]\.png$/);
    }
    assert.deepEqual(libraryCounts(ws, ['memes', 'objects', 'jobs']), { memes: 2, objects: 2, jobs: 3 });
    const db = new Database(ws.db, { readonly: true });
    const statuses = db.prepare('SELECT status FROM jobs').pluck().all();
    db.close();
    assert.deepEqual(statuses, ['dead', 'dead', 'dead'], 'permanent: never retried');
  });
});
