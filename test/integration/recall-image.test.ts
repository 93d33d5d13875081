/**
 * `recall --image`: every variant of a sample picture but the mirror finds
 * its original first, through the offline picture signature (filled by the
 * `embed` backfill from the stored objects) and through a multimodal model
 * (the fake Jina server, driven by the real client); with text (hybrid),
 * filters, --json and the time budget.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { FakeDescriber } from '../helpers/fakes.js';
import { copyToEveryBackend, type BackendLibraries } from '../helpers/library-copies.js';
import { runEmbed } from '../helpers/maintenance.js';
import { sampleEntries, twinsOf, writeVariants, type VariantFile } from '../helpers/picture-variants.js';
import { recallInProcess } from '../helpers/recall-json.js';
import { keyEnv, makeRemoteWorkspace } from '../helpers/remote-workspace.js';
import { runIngest } from '../helpers/run-ingest.js';
import { STORE_BACKENDS } from '../helpers/store-backends.js';
import { copySample, makeWorkspace, type Workspace } from '../helpers/workspace.js';

const ORIGINALS = sampleEntries()
  .filter((e) => !e.is_animated)
  .filter((_, i) => i % 2 === 1)
  .map((e) => e.id);
const QUERY_KINDS = ['jpeg40', 'half', 'crop', 'watermark', 'recaption'] as const;
const PICTURES = 'embeddings:\n  - name: local\n    provider: local\n    dimensions: 256\n    collection: emomo-local\n    is_default: true\n' +
  '  - name: pictures\n    provider: local\n    input: image\n    dimensions: 192\n    collection: pictures\n';

let variantsDir: string;
let variants: VariantFile[];
const twins = new Map<string, string[]>();

/** md5 → sample id, from a workspace's library. */
function sampleIds(ws: Workspace): Map<string, string> {
  const db = new Database(ws.db, { readonly: true });
  try {
    return new Map((db.prepare('SELECT md5, source_id FROM memes').all() as Array<{ md5: string; source_id: string }>).map((r) => [r.md5, r.source_id]));
  } finally {
    db.close();
  }
}

/** Queries every variant; returns the ones whose first hit is neither the original nor one of its twins. */
async function misses(config: string, embedding: string, env?: NodeJS.ProcessEnv, ws?: Workspace): Promise<string[]> {
  const ids = sampleIds(ws!);
  const out: string[] = [];
  for (const v of variants.filter((f) => (QUERY_KINDS as readonly string[]).includes(f.kind))) {
    const { code, json } = await recallInProcess(config, '', { image: path.join(variantsDir, v.filename), embedding, topK: 3 }, {}, env);
    assert.equal(code, 0);
    const first = ids.get(json.results[0]?.md5 ?? '');
    if (first !== v.of && !twins.get(v.of)!.includes(first ?? '')) out.push(`${v.id} → ${first}`);
  }
  return out;
}

/** The sample set ingested through a multimodal model on the fake server (the fake describer writes descriptions). */
function multimodalLibrary(model: { provider: 'jina' | 'openai'; model: string }, env: NodeJS.ProcessEnv): { fake: FakeOpenAI; ws: Workspace } {
  const lib = {} as { fake: FakeOpenAI; ws: Workspace };
  before(async () => {
    lib.fake = await startFakeOpenAI();
    lib.ws = makeRemoteWorkspace(lib.fake, { ...model, input: 'image', dims: 768 });
    copySample(lib.ws);
    const run = await runIngest(lib.ws, { source: 'staging:sample' }, { describer: new FakeDescriber() }, undefined, env);
    assert.equal(run.summary.added, 48, run.log);
  });
  after(async () => {
    lib.ws?.cleanup();
    await lib.fake?.close();
  });
  return lib;
}

before(async () => {
  variantsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-variants-'));
  variants = await writeVariants(variantsDir, ORIGINALS);
  for (const id of ORIGINALS) twins.set(id, await twinsOf(id));
});
after(() => fs.rmSync(variantsDir, { recursive: true, force: true }));

describe('recall --image with the offline picture signature', { timeout: 600_000 }, () => {
  let ws: Workspace;
  let libraries: BackendLibraries | undefined;
  before(async () => {
    ws = makeWorkspace('', PICTURES);
    copySample(ws);
    const run = await runIngest(ws, { source: 'staging:sample' }, { describer: new FakeDescriber() });
    assert.equal(run.summary.added, 48, run.log);
    const embed = await runEmbed(ws, 'pictures');
    assert.equal(embed.report.embedded, 48, embed.log);
    libraries = await copyToEveryBackend(ws);
  });
  after(async () => {
    await libraries?.cleanup();
    ws?.cleanup();
  });

  // The image collection is an ordinary vector collection: migrated to PostgreSQL, it answers the same.
  for (const backend of STORE_BACKENDS) {
    test(`each variant but the mirror finds its original first: ${backend.name}`, { skip: backend.unavailable }, async (t) => {
      const missed = await misses(libraries!.get(backend.name).config, 'pictures', undefined, ws);
      t.diagnostic(`${variants.filter((v) => v.kind !== 'mirror').length - missed.length} of ${variants.filter((v) => v.kind !== 'mirror').length} first`);
      assert.deepEqual(missed, []);
    });
  }

  test('with text (hybrid), filters, --json; the picture side alone without a text side', async () => {
    const query = path.join(variantsDir, `${ORIGINALS[0]}-jpeg40.jpg`);
    const entry = sampleEntries().find((e) => e.id === ORIGINALS[0])!;
    // The fake describer writes the category into each description: a word many memes share, the picture tells them apart.
    const hybrid = await recallInProcess(ws.config, entry.category, { image: query, embedding: 'pictures' });
    const ids = sampleIds(ws);
    assert.equal(ids.get(hybrid.json.results[0]!.md5), entry.id);
    assert.equal(hybrid.json.picture, true);
    const top = hybrid.json.results[0]!;
    assert.ok(top.scores.image! > 0.9 && top.scores.keyword !== null, JSON.stringify(top.scores));
    assert.ok(top.explain.contributions!.image! > 0, JSON.stringify(top.explain.contributions));
    assert.equal(hybrid.json.partial, false, 'a picture collection has no text side: keyword only, not a failure');

    const cats = await recallInProcess(ws.config, '', { image: query, embedding: 'pictures', category: '猫猫', topK: 5 });
    assert.ok(cats.json.results.length > 0 && cats.json.results.every((r) => r.category === '猫猫'));

    const textOnly = await recallInProcess(ws.config, entry.caption, { embedding: 'pictures', mode: 'vector' });
    assert.equal(textOnly.code, 3);
    assert.match(textOnly.json.reason ?? '', /no text side: search it with --image/);
  });

  test('a picture by URL is fetched within the limits', async () => {
    const file = path.join(variantsDir, `${ORIGINALS[1]}-watermark.jpg`);
    const server = http.createServer((req, res) => {
      if (req.url === '/m.jpg') res.end(fs.readFileSync(file));
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const { code, json } = await recallInProcess(ws.config, '', { image: `${base}/m.jpg`, embedding: 'pictures', topK: 1 });
      assert.equal(code, 0);
      assert.equal(sampleIds(ws).get(json.results[0]!.md5), ORIGINALS[1]);
      await assert.rejects(recallInProcess(ws.config, '', { image: `${base}/gone.jpg`, embedding: 'pictures' }), /--image .*HTTP 404/);
    } finally {
      server.close();
    }
  });

  test('a bad picture or an embedding without an image side is a usage error', async () => {
    await assert.rejects(recallInProcess(ws.config, '', { image: path.join(variantsDir, 'nope.png'), embedding: 'pictures' }), /--image .*no such file/);
    const svg = path.join(variantsDir, 'x.svg');
    fs.writeFileSync(svg, '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await assert.rejects(recallInProcess(ws.config, '', { image: svg }), /--image .*unsupported format: SVG/);
    await assert.rejects(recallInProcess(ws.config, '', { image: svg, embedding: 'local' }), /input: image; "local" embeds text/);
  });
});

describe('recall --image through a multimodal model (fake Jina, real client)', { timeout: 600_000 }, () => {
  const env = keyEnv('sk-vlm', 'sk-clip');
  const lib = multimodalLibrary({ provider: 'jina', model: 'jina-clip-v2' }, env);
  let fake: FakeOpenAI;
  let ws: Workspace;
  before(() => ({ fake, ws } = lib));

  test('ingest sends pictures as {"image": base64} items; each variant but the mirror finds its original first', async () => {
    const stored = fake.requests.filter((r) => r.endpoint === 'embeddings');
    assert.ok(stored.length > 0 && stored.every((r) => r.body.task === 'retrieval.passage' && r.body.input.every((i: { image?: string }) => typeof i.image === 'string')));
    assert.ok(Buffer.from(stored[0]!.body.input[0].image, 'base64').subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff])), 'a JPEG still');
    assert.deepEqual(await misses(ws.config, 'remote', env, ws), []);
  });

  test('a text query goes through the same model as a {"text"} item (text-to-image)', async () => {
    const before = fake.requests.length;
    const { code, json } = await recallInProcess(ws.config, '开心', { mode: 'vector' }, {}, env);
    assert.equal(code, 0);
    assert.ok(json.results.length > 0);
    const sent = fake.requests.slice(before).find((r) => r.endpoint === 'embeddings')!;
    assert.deepEqual(sent.body.input, [{ text: '开心' }]);
    assert.equal(sent.body.task, 'retrieval.query');
  });

  test('the time budget: a slow provider leaves keyword results (partial), or nothing (exit 3) without text', async () => {
    fake.setLatency({ embeddings: 3000 });
    try {
      const query = path.join(variantsDir, `${ORIGINALS[0]}-half.png`);
      const mixed = await recallInProcess(ws.config, '开心', { image: query, timeout: 300 }, {}, env);
      assert.equal(mixed.code, 0);
      assert.equal(mixed.json.partial, true);
      assert.ok(mixed.json.errors.some((e) => e.stage === 'image' && /within 300 ms/.test(e.message)));
      const alone = await recallInProcess(ws.config, '', { image: query, timeout: 300 }, {}, env);
      assert.equal(alone.code, 3);
      assert.equal(alone.json.failed, true);
    } finally {
      fake.setLatency({});
    }
  });
});

describe('recall --image through an OpenAI-compatible multimodal /embeddings (fake server, openai client)', { timeout: 600_000 }, () => {
  const env = keyEnv('sk-vlm', 'sk-vl-embed');
  const lib = multimodalLibrary({ provider: 'openai', model: 'Qwen/Qwen3-VL-Embedding-8B' }, env);
  let fake: FakeOpenAI;
  let ws: Workspace;
  before(() => ({ fake, ws } = lib));

  test('pictures go as {"image": data URL} items, a text query as a {"text"} item; each variant but the mirror finds its original first', async () => {
    const stored = fake.requests.filter((r) => r.endpoint === 'embeddings');
    assert.ok(stored.length > 0 && stored.every((r) => r.body.task === undefined && r.body.dimensions === 768));
    assert.ok(stored.every((r) => r.body.input.every((i: { image?: string }) => /^data:image\/jpeg;base64,/.test(i.image ?? ''))));
    assert.deepEqual(await misses(ws.config, 'remote', env, ws), []);

    const before = fake.requests.length;
    const { code } = await recallInProcess(ws.config, '开心', { mode: 'vector' }, {}, env);
    assert.equal(code, 0);
    const sent = fake.requests.slice(before).find((r) => r.endpoint === 'embeddings')!;
    assert.equal(sent.body.input.length, 1);
    assert.match(sent.body.input[0].text, /开心/);
  });
});
