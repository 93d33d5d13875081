/**
 * One contract for every ObjectStorage adapter: the local directory and S3
 * (against s3rver, a real S3-protocol server on 127.0.0.1, through the same
 * @aws-sdk/client-s3 calls production makes).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pLimit from 'p-limit';
import type { ObjectStorage } from '../../src/ports.js';
import { ProviderError } from '../../src/errors.js';
import { LocalStorage } from '../../src/storage/local-storage.js';
import { newProbeKey, objectKey } from '../../src/storage/object-key.js';
import { S3Storage } from '../../src/storage/s3-storage.js';
import { startS3Server, type S3Fixture } from '../helpers/s3-server.js';

/** What the contract needs to know about one adapter beyond the port. */
interface Harness {
  storage: ObjectStorage;
  /** Writes that reached the backend so far (to prove a second put wrote nothing). */
  writes(): Promise<number>;
  /** The bytes and content type served at `url(key)`. */
  fetchUrl(key: string): Promise<{ bytes: Buffer; contentType?: string }>;
  /** Stores a foreign object (not an image key) behind the adapter's back, if the backend can hold one. */
  putForeign?(name: string): Promise<void>;
  /** A second adapter on an empty backend whose list() pages hold at most `pageSize` keys. */
  paged(pageSize: number): Promise<ObjectStorage>;
  cleanup(): Promise<void>;
}

let counter = 0;
/** A fresh image key: distinct md5-shaped hex, spread over shards. */
function key(ext = 'png'): string {
  const md5 = (counter++ * 2654435761 % 2 ** 32).toString(16).padStart(8, '0').repeat(4);
  return objectKey(md5, ext);
}

function contract(name: string, make: () => Promise<Harness>) {
  describe(`ObjectStorage contract: ${name}`, () => {
    let h: Harness;
    before(async () => (h = await make()));
    after(async () => h.cleanup());

    test('put creates once; a second put of the same key reports created:false and writes nothing', async () => {
      const k = key('jpg');
      const before = await h.writes();
      assert.deepEqual(await h.storage.put(k, Buffer.from('first'), 'image/jpeg'), { created: true });
      assert.deepEqual(await h.storage.put(k, Buffer.from('second'), 'image/jpeg'), { created: false });
      assert.equal((await h.writes()) - before, 1, 'exactly one write reached the backend');
      assert.equal((await h.storage.get(k)).toString(), 'first', 'the stored object is never rewritten');
    });

    test('get returns the exact bytes; exists tracks the object', async () => {
      const k = key('gif');
      const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
      assert.equal(await h.storage.exists(k), false);
      await h.storage.put(k, bytes, 'image/gif');
      assert.equal(await h.storage.exists(k), true);
      assert.ok((await h.storage.get(k)).equals(bytes));
    });

    test('get of a missing key rejects', async () => {
      await assert.rejects(h.storage.get(key()));
    });

    test('delete removes the object and is idempotent', async () => {
      const k = key();
      await h.storage.put(k, Buffer.from('x'), 'image/png');
      await h.storage.delete(k);
      assert.equal(await h.storage.exists(k), false);
      await h.storage.delete(k);
      await h.storage.delete(key());
      assert.deepEqual(await h.storage.put(k, Buffer.from('again'), 'image/png'), { created: true }, 'a deleted key can be stored again');
    });

    test('url serves the object with its content type', async () => {
      const k = key('webp');
      await h.storage.put(k, Buffer.from('webp-bytes'), 'image/webp');
      assert.ok(h.storage.url(k).endsWith(k), h.storage.url(k));
      const served = await h.fetchUrl(k);
      assert.equal(served.bytes.toString(), 'webp-bytes');
      if (served.contentType !== undefined) assert.equal(served.contentType, 'image/webp');
    });

    test('invalid keys are rejected before any I/O', async () => {
      for (const bad of ['', '../etc/passwd', 'ab/../../etc/passwd', '/abs/key.png', 'AB/ABABABABABABABABABABABABABABABAB.png', 'ab/short.png', 'notes.txt']) {
        await assert.rejects(h.storage.put(bad, Buffer.from('x'), 'image/png'), /invalid object key/, bad);
        await assert.rejects(h.storage.get(bad), /invalid object key/, bad);
        await assert.rejects(h.storage.exists(bad), /invalid object key/, bad);
        await assert.rejects(h.storage.delete(bad), /invalid object key/, bad);
      }
    });

    test('probe keys round-trip but are never listed as library objects', async () => {
      const probe = newProbeKey();
      assert.deepEqual(await h.storage.put(probe, Buffer.from('probe'), 'text/plain'), { created: true });
      assert.equal((await h.storage.get(probe)).toString(), 'probe');
      await h.putForeign?.('README.txt');
      const listed = [];
      for await (const k of h.storage.list()) listed.push(k);
      assert.ok(!listed.includes(probe), 'probe key not listed');
      assert.ok(!listed.includes('README.txt'), 'foreign object not listed');
      await h.storage.delete(probe);
      assert.equal(await h.storage.exists(probe), false);
    });

    test('list streams every key across many pages', async () => {
      const storage = await h.paged(100);
      const keys = Array.from({ length: 1050 }, () => key());
      const limit = pLimit(16);
      await Promise.all(keys.map((k) => limit(() => storage.put(k, Buffer.from(k), 'image/png'))));
      const listed: string[] = [];
      for await (const k of storage.list()) listed.push(k);
      assert.equal(listed.length, keys.length, 'no key lost or repeated between pages');
      assert.deepEqual(new Set(listed), new Set(keys));
      await storage.close?.();
    });
  });
}

contract('local directory', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-objects-'));
  const writes = () => countFiles(root);
  return {
    storage: new LocalStorage(root),
    writes: async () => writes(),
    fetchUrl: async (k) => ({ bytes: fs.readFileSync(new LocalStorage(root).url(k)) }),
    putForeign: async (name) => fs.writeFileSync(path.join(root, name), 'not an image'),
    paged: async () => new LocalStorage(fs.mkdtempSync(path.join(root, 'paged-'))),
    cleanup: async () => fs.rmSync(root, { recursive: true, force: true }),
  };
});

/** Files ever created under root (a rewrite replaces the inode, so inode numbers are counted). */
function countFiles(root: string): number {
  const inodes = new Set<number>();
  for (const e of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) inodes.add(fs.statSync(path.join(e.parentPath, e.name)).ino);
  }
  return inodes.size;
}

contract('S3 (s3rver)', async () => {
  const servers: S3Fixture[] = [await startS3Server()];
  const s3 = servers[0]!;
  const storage = new S3Storage(s3.options());
  return {
    storage,
    writes: async () => (await s3.sync(), s3.puts.length),
    fetchUrl: async (k) => {
      const res = await fetch(storage.url(k));
      assert.equal(res.status, 200);
      return { bytes: Buffer.from(await res.arrayBuffer()), contentType: res.headers.get('content-type') ?? '' };
    },
    putForeign: async (name) => {
      const res = await fetch(`${s3.endpoint}/${s3.bucket}/${name}`, { method: 'PUT', body: 'not an image' });
      assert.equal(res.status, 200);
    },
    paged: async (pageSize) => {
      const other = await startS3Server('emomo-paged');
      servers.push(other);
      return new S3Storage(other.options({ pageSize }));
    },
    cleanup: async () => {
      await storage.close();
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
});

describe('S3 adapter specifics', () => {
  let s3: S3Fixture;
  before(async () => (s3 = await startS3Server()));
  after(async () => s3.stop());

  test('errors are readable, name the operation and key, and never carry the credentials', async () => {
    const secret = 'SECRET-never-print-me-123';
    const bad = new S3Storage(s3.options({ accessKeyId: 'AKIDWRONGKEY', secretAccessKey: secret }));
    const k = key('jpg');
    const err = await bad.put(k, Buffer.from('x'), 'image/jpeg').catch((e: unknown) => e);
    assert.ok(err instanceof ProviderError);
    assert.match(err.message, new RegExp(`^S3 HEAD ${k} failed: Forbidden \\(HTTP 403\\)`));
    assert.equal(err.retryable, false);
    assert.ok(!err.message.includes(secret));
    assert.equal(err.cause, undefined, 'the SDK error (which holds the signed request) is not attached');
    await bad.close();
  });

  test('an unreachable endpoint fails fast with the network error, marked retryable', async () => {
    const dead = new S3Storage(s3.options({ endpoint: 'http://127.0.0.1:1', maxAttempts: 2 }));
    const err = await dead.exists(key()).catch((e: unknown) => e);
    assert.ok(err instanceof ProviderError);
    assert.match(err.message, /S3 HEAD .* failed: ECONNREFUSED/);
    assert.equal(err.retryable, true);
    await dead.close();
  });

  test('url() prefers public_url, else the endpoint in path or virtual-host style', () => {
    const k = key('png');
    const o = { bucket: 'memes', region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 'b' };
    assert.equal(new S3Storage({ ...o, forcePathStyle: false, publicUrl: 'https://cdn.example.com/m/' }).url(k), `https://cdn.example.com/m/${k}`);
    assert.equal(new S3Storage({ ...o, forcePathStyle: true, endpoint: 'http://minio:9000' }).url(k), `http://minio:9000/memes/${k}`);
    assert.equal(new S3Storage({ ...o, forcePathStyle: false, endpoint: 'https://acc.r2.cloudflarestorage.com' }).url(k), `https://memes.acc.r2.cloudflarestorage.com/${k}`);
    assert.equal(new S3Storage({ ...o, forcePathStyle: false }).url(k), `https://memes.s3.us-east-1.amazonaws.com/${k}`);
  });
});
