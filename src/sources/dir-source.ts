/**
 * A plain folder of images. Every regular file is offered, whatever its
 * extension says: the real format is decided later from the magic bytes, so a
 * misnamed file is still ingested and a non-image fails as data. Only hidden
 * files and obvious documents are left out.
 */
import path from 'node:path';
import type { Source, SourceEntry } from '../ports.js';
import { DEFAULT_CATEGORY, dedupe, tagsFromFileName } from './naming.js';
import { requireDirectory, walkFiles } from './walk.js';

const DOCUMENT_EXTENSIONS = new Set(['.md', '.txt', '.json', '.jsonl', '.yaml', '.yml', '.html', '.csv']);
/** Files the desktop writes into picture folders; they would only show up as failures. */
const DESKTOP_FILES = new Set(['thumbs.db', 'desktop.ini']);

export class DirSource implements Source {
  readonly type: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.type = `dir:${this.root}`;
  }

  async *entries(signal?: AbortSignal): AsyncGenerator<SourceEntry> {
    await requireDirectory(this.root, 'folder');
    for await (const entry of walkFiles(this.root, { sourceType: this.type, accept: isOffered, signal })) {
      if (entry.kind === 'problem') {
        yield entry;
        continue;
      }
      // The folder path says how the owner sorted the images: `猫/开心` is the category, each part a tag.
      const category = entry.dir || DEFAULT_CATEGORY;
      const tags = dedupe([...(entry.dir ? entry.dir.split('/') : []), ...tagsFromFileName(entry.name)]);
      yield {
        kind: 'item',
        item: { sourceType: this.type, sourceId: entry.rel, path: entry.path, root: entry.root, category, tags },
      };
    }
  }
}

function isOffered(name: string): boolean {
  return !DOCUMENT_EXTENSIONS.has(path.extname(name).toLowerCase()) && !DESKTOP_FILES.has(name.toLowerCase());
}
