/**
 * Object storage in a local directory. Writes are atomic: the bytes go to a
 * temporary file that is then hard-linked into place, which fails if the key
 * already exists, so an object is never partial and never overwritten.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ObjectStorage, PutResult } from '../ports.js';
import { isObjectKey } from './object-key.js';

const TMP_PREFIX = '.tmp-';

export class LocalStorage implements ObjectStorage {
  readonly label: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.label = `local:${root}`;
  }

  private file(key: string): string {
    if (!isObjectKey(key)) throw new Error(`invalid object key: ${JSON.stringify(key)}`);
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

  get(key: string): Promise<Buffer> {
    return fs.readFile(this.file(key));
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.file(key), { force: true });
  }

  async *list(): AsyncIterable<string> {
    let shards: string[];
    try {
      shards = (await fs.readdir(this.root)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const shard of shards) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      const dir = await fs.opendir(path.join(this.root, shard));
      for await (const entry of dir) {
        const key = `${shard}/${entry.name}`;
        if (entry.isFile() && isObjectKey(key)) yield key;
      }
    }
  }

  url(key: string): string {
    return this.file(key);
  }
}
