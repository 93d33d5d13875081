/**
 * Maintenance beside a running ingest, as cron makes it happen: an ingest
 * (a spawned CLI process) adds a source while this process runs
 * `verify --repair`, `purge` of another source that shares half of its
 * images, and a re-ingest of that source, over and over on the same library.
 * Every image of the ingested source must end up in the library with its
 * object, and verify must find nothing wrong: offline with local storage,
 * and with the fake remote provider and an S3-protocol server.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { RunSummary } from '../../src/pipeline/outcome.js';
import { S3Storage } from '../../src/storage/s3-storage.js';
import { startCli } from '../helpers/cli.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { FakeDescriber } from '../helpers/fakes.js';
import { writeGeneratedStaging, type GeneratedItem } from '../helpers/generated-images.js';
import { issueCounts, runPurge, runVerify } from '../helpers/maintenance.js';
import { keyEnv, makeRemoteWorkspace } from '../helpers/remote-workspace.js';
import { runIngest } from '../helpers/run-ingest.js';
import { startS3Server, useS3Storage, type S3Fixture } from '../helpers/s3-server.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

/** Stages `items` of staging set `from` again as set `id`, under ids of their own. */
function stageCopy(ws: Workspace, from: string, id: string, items: GeneratedItem[]): void {
  const dir = path.join(ws.staging, id);
  fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
  const lines = items.map((it) => {
    fs.copyFileSync(path.join(ws.staging, from, 'images', it.filename), path.join(dir, 'images', it.filename));
    return JSON.stringify({ id: `${id}-${it.id}`, filename: it.filename, category: '熊猫头', tags: it.tags });
  });
  fs.writeFileSync(path.join(dir, 'manifest.jsonl'), lines.join('\n') + '\n');
}

function md5Of(ws: Workspace, set: string, item: GeneratedItem): string {
  return createHash('md5').update(fs.readFileSync(path.join(ws.staging, set, 'images', item.filename))).digest('hex');
}

function storageKeys(ws: Workspace): Map<string, string> {
  const db = new Database(ws.db, { readonly: true });
  try {
    const rows = db.prepare('SELECT md5, storage_key FROM memes').all() as Array<{ md5: string; storage_key: string }>;
    return new Map(rows.map((r) => [r.md5, r.storage_key]));
  } finally {
    db.close();
  }
}

interface Race {
  ws: Workspace;
  env?: NodeJS.ProcessEnv;
  items: GeneratedItem[];
  /** Whether a key is in object storage. */
  exists(key: string): Promise<boolean>;
  ingestArgs: string[];
  minRounds: number;
}

/** Runs the race; returns how many maintenance rounds ran beside the ingest and what they did. */
async function race({ ws, env, items, exists, ingestArgs, minRounds }: Race): Promise<string> {
  const describer = new FakeDescriber();
  const ingestOther = () => runIngest(ws, { source: 'staging:other', workers: 16, lock: false }, { describer }, undefined, env);
  assert.equal((await ingestOther()).code, 0);

  const ingest = startCli(['--config', ws.config, '--json', 'ingest', '--source', 'staging:gen', '--no-lock', ...ingestArgs], { env });
  let finished = false;
  const done = ingest.done.then((r) => ((finished = true), r));
  const seen = { rounds: 0, repaired: 0, purged: 0 };
  while (!finished || seen.rounds < minRounds) {
    const verified = await runVerify(ws, { repair: true }, env);
    assert.notEqual(verified.code, 2, verified.text);
    // Never a committed meme called lost: its object was stored before it was committed.
    assert.equal(issueCounts(verified.report.issues).meme_without_object ?? 0, 0, `round ${seen.rounds}: ${verified.text}`);
    seen.repaired += (verified.report.repaired ?? []).reduce((n, a) => n + a.fixed, 0);
    const purged = await runPurge(ws, { source: 'staging:other' }, env);
    assert.equal(purged.code, 0, purged.text);
    seen.purged += purged.report.memes_removed;
    if (!finished) await ingestOther();
    seen.rounds++;
  }
  const result = await done;
  assert.equal(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout) as RunSummary;
  assert.equal(summary.failed, 0, JSON.stringify(summary.failures));
  assert.equal(summary.added + summary.reused + summary.skipped, items.length);
  assert.ok(seen.purged > 0, 'purge removed memes while the ingest ran');

  const keys = storageKeys(ws);
  const lost: string[] = [];
  for (const item of items) {
    const key = keys.get(md5Of(ws, 'gen', item));
    if (!key || !(await exists(key))) lost.push(`${item.id}${key ? ' (object missing)' : ' (meme missing)'}`);
  }
  assert.deepEqual(lost, [], `lost after ${seen.rounds} rounds (ingest: ${JSON.stringify(summary)})`);
  const final = await runVerify(ws, {}, env);
  assert.deepEqual(issueCounts(final.report.issues), {}, final.text);
  assert.equal(final.code, 0);
  return `${seen.rounds} rounds beside the ingest: ${seen.purged} memes purged, ${seen.repaired} repairs; ingest ${JSON.stringify(summary)}`;
}

describe('verify --repair and purge beside a running ingest', () => {
  test('offline (local describer and storage): every image of the ingested source is kept with its object', async (t) => {
    const ws = makeWorkspace();
    try {
      const items = await writeGeneratedStaging(ws.staging, 'gen', 100);
      stageCopy(ws, 'gen', 'other', items.filter((_, i) => i % 2 === 0));
      const ran = await race({
        ws,
        items,
        exists: async (key) => fs.existsSync(path.join(ws.objects, key)),
        ingestArgs: ['--workers', '4'],
        minRounds: 3,
      });
      t.diagnostic(ran);
    } finally {
      ws.cleanup();
    }
  });

  describe('remote provider and S3 storage', () => {
    let fake: FakeOpenAI;
    let s3: S3Fixture;
    before(async () => {
      fake = await startFakeOpenAI({ apiKey: 'race-key', latencyMs: { chat: 150 } });
      s3 = await startS3Server();
    });
    after(async () => {
      await fake.close();
      await s3.stop();
    });

    test('every image of the ingested source is kept with its object', async (t) => {
      const ws = makeRemoteWorkspace(fake, { workers: 4 });
      useS3Storage(ws, s3);
      const bucket = new S3Storage(s3.options());
      try {
        const items = await writeGeneratedStaging(ws.staging, 'gen', 160);
        stageCopy(ws, 'gen', 'other', items.filter((_, i) => i % 3 === 0));
        const ran = await race({
          ws,
          env: { ...keyEnv('race-key'), ...s3.env },
          items,
          exists: (key) => bucket.exists(key),
          ingestArgs: [],
          minRounds: 3,
        });
        t.diagnostic(ran);
      } finally {
        await bucket.close();
        ws.cleanup();
      }
    });
  });
});
