/**
 * Object storage in a local directory. Writes are atomic: the bytes go to a
 * temporary file that is then hard-linked into place, which fails if the key
 * already exists, so an object is never partial and never overwritten.
 * Writes are durable before `put` returns (and so before the meme's row
 * commits): the file is fsynced before it is linked, then its folder, and
 * the folders above it up to the root's parent the first time this process
 * writes there, so a power loss cannot leave a committed meme pointing at an
 * empty or missing file.
 */
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ObjectStorage, PutResult } from '../ports.js';
import { assertStorableKey, isObjectKey, isProbeKey } from './object-key.js';

const TMP_PREFIX = '.tmp-';
const LEFTOVER = /^[0-9a-f]{2}\/\.tmp-[0-9a-f]+$/;

export class LocalStorage implements ObjectStorage {
  readonly label: string;
  private readonly root: string;
  /** Folders whose entry in their parent has been fsynced by this process. */
  private readonly settled = new Set<string>();

  constructor(root: string) {
    this.root = path.resolve(root);
    this.label = `local:${path.resolve(root)}`;
  }

  private file(key: string): string {
    assertStorableKey(key);
    return path.join(this.root, key);
  }

  async put(key: string, data: Buffer): Promise<PutResult> {
    const target = this.file(key);
    if (await this.exists(key)) return { created: false };
    const dir = path.dirname(target);
    const firstCreated = await fs.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `${TMP_PREFIX}${randomBytes(6).toString('hex')}`);
    try {
      const file = await fs.open(tmp, 'wx');
      try {
        await file.writeFile(data);
        await file.datasync(); // the bytes and the size; the name is made durable by the folder sync below
      } finally {
        await file.close();
      }
      await fs.link(tmp, target);
      await fs.rm(tmp, { force: true }); // before the folder sync, which then settles both entries
      await this.settle(dir, firstCreated);
      return { created: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { created: false };
      throw err;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  /**
   * fsyncs `dir` (the new object's entry), then, once per process, the
   * folders holding `dir` itself, up to the parent of the root or of the
   * topmost folder this write created, so the folders' own entries are
   * durable too, even when another write created them a moment ago.
   */
  private async settle(dir: string, firstCreated: string | undefined): Promise<void> {
    await syncFolder(dir);
    const top = path.dirname(firstCreated !== undefined && firstCreated.length < this.root.length ? firstCreated : this.root);
    for (let d = dir; d !== top && !this.settled.has(d) && d !== path.dirname(d); d = path.dirname(d)) {
      await syncFolder(path.dirname(d));
      this.settled.add(d);
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await fs.stat(this.file(key))).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async get(key: string): Promise<Buffer> {
    return fs.readFile(this.file(key));
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key);
    await fs.rm(file, { force: true });
    // The doctor's probe leaves no empty folder behind (fails harmlessly if another probe is in it).
    if (isProbeKey(key)) await fs.rmdir(path.dirname(file)).catch(() => undefined);
  }

  async *list(): AsyncIterable<string> {
    for await (const { shard, entry } of this.shardEntries()) {
      const key = `${shard}/${entry.name}`;
      if (entry.isFile() && isObjectKey(key)) yield key;
    }
  }

  /** Temporary files of writes that never finished (a crash between write and link). */
  async *leftovers(olderThanMs: number): AsyncIterable<string> {
    const cutoff = Date.now() - olderThanMs;
    for await (const { shard, entry } of this.shardEntries()) {
      if (!entry.isFile() || !entry.name.startsWith(TMP_PREFIX)) continue;
      const name = `${shard}/${entry.name}`;
      const stat = await fs.stat(path.join(this.root, name)).catch(() => undefined);
      if (stat && stat.mtimeMs <= cutoff) yield name;
    }
  }

  async removeLeftover(name: string): Promise<void> {
    if (!LEFTOVER.test(name)) throw new Error(`not a leftover temporary file: ${JSON.stringify(name)}`);
    await fs.rm(path.join(this.root, name), { force: true });
  }

  private async *shardEntries(): AsyncIterable<{ shard: string; entry: Dirent }> {
    let shards: string[];
    try {
      shards = (await fs.readdir(this.root)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const shard of shards) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for await (const entry of await fs.opendir(path.join(this.root, shard))) yield { shard, entry };
    }
  }

  url(key: string): string {
    return this.file(key);
  }
}

/** fsync of a folder: makes the entries in it durable. */
async function syncFolder(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // Some platforms cannot fsync a folder (Windows, a few network file systems): nothing more to do there.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EPERM' && code !== 'EISDIR' && code !== 'ENOTSUP') throw err;
  } finally {
    await handle.close();
  }
}
