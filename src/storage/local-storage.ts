/**
 * Object storage in a local directory. Writes are atomic: the bytes go to a
 * temporary file that is then hard-linked into place, which fails if the key
 * already exists, so an object is never partial and never overwritten.
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
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = path.join(path.dirname(target), `${TMP_PREFIX}${randomBytes(6).toString('hex')}`);
    try {
      await fs.writeFile(tmp, data, { flag: 'wx' });
      await fs.link(tmp, target);
      return { created: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { created: false };
      throw err;
    } finally {
      await fs.rm(tmp, { force: true });
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
