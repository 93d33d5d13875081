/**
 * A checkout of github.com/zhaoolee/ChineseBQB: folders such as
 * `001Funny_滑稽大佬😏BQB/` holding images named like `滑稽大佬00001-抱拳.gif`.
 * The folder gives the category and the file name gives the tags.
 */
import path from 'node:path';
import type { Source, SourceEntry } from '../ports.js';
import { DEFAULT_CATEGORY, cleanCategory, dedupe, tagsFromFileName } from './naming.js';
import { requireDirectory, walkFiles } from './walk.js';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.gif', '.webp']);

export class ChineseBqbSource implements Source {
  readonly type = 'chinesebqb';
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  check(): Promise<void> {
    return requireDirectory(
      this.root,
      'ChineseBQB folder',
      'Clone https://github.com/zhaoolee/ChineseBQB there, or set sources.chinesebqb.path in the config.',
    );
  }

  async *entries(signal?: AbortSignal): AsyncGenerator<SourceEntry> {
    await this.check();
    const walk = walkFiles(this.root, { sourceType: this.type, accept: isImageName, signal });
    for await (const entry of walk) {
      if (entry.kind === 'problem') {
        yield entry;
        continue;
      }
      // The image's own folder names it; files at the top of the tree have no category.
      const folder = entry.dir ? path.posix.basename(entry.dir) : '';
      const category = folder ? cleanCategory(folder) : DEFAULT_CATEGORY;
      const tags = dedupe([...(folder ? [category] : []), ...tagsFromFileName(entry.name)]);
      yield {
        kind: 'item',
        item: { sourceType: this.type, sourceId: entry.rel, path: entry.path, root: entry.root, category, tags },
      };
    }
  }
}

/** The repository also holds README.md, index.md, .DS_Store...: only image extensions count here. */
function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}
