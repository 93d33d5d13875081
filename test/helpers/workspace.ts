/** Temporary working folders with a config, a database path and staging sets. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sampleDir = path.join(projectRoot, 'staging', 'sample');
export const realImagesDir = path.resolve(projectRoot, '..', 'shared', 'fixtures', 'real-images');
export const realMemesDir = path.resolve(projectRoot, '..', 'shared', 'fixtures', 'real-memes');

export interface Workspace {
  dir: string;
  config: string;
  db: string;
  objects: string;
  staging: string;
  cleanup(): void;
}

/** A fresh folder with its own config (local providers), db and object store. */
export function makeWorkspace(extraYaml = '', embeddings?: string): Workspace {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-test-'));
  const staging = path.join(dir, 'staging');
  fs.mkdirSync(staging);
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(
    config,
    `database:\n  path: ${path.join(dir, 'emomo.db')}\n` +
      `storage:\n  type: local\n  path: ${path.join(dir, 'objects')}\n` +
      `sources:\n  staging:\n    path: ${staging}\n` +
      (embeddings ??
        `embeddings:\n  - name: local\n    provider: local\n    dimensions: 256\n    collection: emomo-local\n    is_default: true\n` +
          `  - name: second\n    provider: local\n    dimensions: 128\n    collection: second\n`) +
      extraYaml,
  );
  return {
    dir,
    config,
    db: path.join(dir, 'emomo.db'),
    objects: path.join(dir, 'objects'),
    staging,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Copies the committed sample set (or a part of it) into a workspace's staging folder. */
export function copySample(ws: Workspace, id = 'sample', take?: number): number {
  const target = path.join(ws.staging, id);
  fs.mkdirSync(path.join(target, 'images'), { recursive: true });
  const lines = fs.readFileSync(path.join(sampleDir, 'manifest.jsonl'), 'utf8').split('\n').filter(Boolean);
  const chosen = take ? lines.slice(0, take) : lines;
  for (const line of chosen) {
    const { filename } = JSON.parse(line) as { filename: string };
    fs.copyFileSync(path.join(sampleDir, 'images', filename), path.join(target, 'images', filename));
  }
  fs.writeFileSync(path.join(target, 'manifest.jsonl'), chosen.join('\n') + '\n');
  return chosen.length;
}

/** Every stored object under a local object store (temporary `.tmp-*` files left by a kill are not objects). */
export function listObjects(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.tmp-'))
    .map((e) => path.relative(root, path.join(e.parentPath ?? e.path, e.name)));
}

/** One entry of the committed sample set, with the md5 of its image (what memes are keyed by). */
export interface SampleEntry {
  id: string;
  filename: string;
  caption: string;
  is_animated: boolean;
  md5: string;
}

/** The committed sample set's manifest, in order. */
export function sampleEntries(): SampleEntry[] {
  return fs
    .readFileSync(path.join(sampleDir, 'manifest.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const entry = JSON.parse(line) as Omit<SampleEntry, 'md5'>;
      const md5 = crypto.createHash('md5').update(fs.readFileSync(path.join(sampleDir, 'images', entry.filename))).digest('hex');
      return { id: entry.id, filename: entry.filename, caption: entry.caption, is_animated: entry.is_animated, md5 };
    });
}
