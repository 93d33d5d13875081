/**
 * Finds the original files of images again, in the sources that offered them
 * (`staging:<id>`, `dir:<path>`, `chinesebqb`), so `verify --repair` can
 * re-store a lost or damaged object instead of giving the meme up. Each
 * source is opened as ingest opens it (same path checks) and streamed once
 * for all the images wanted from it; a file counts only if its md5 is the
 * image's. A source that no longer exists simply finds nothing.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import type { OriginalRef, Originals, Source } from '../ports.js';
import { openSource } from './open-source.js';

export class SourceOriginals implements Originals {
  constructor(private readonly paths: { stagingPath: string; chinesebqbPath: string }) {}

  async *find(refs: readonly OriginalRef[]): AsyncIterable<{ md5: string; bytes: Buffer }> {
    // source type → source id → md5s wanted from that entry
    const wanted = new Map<string, Map<string, Set<string>>>();
    for (const ref of refs) {
      for (const { sourceType, sourceId } of ref.sources) {
        const ids = wanted.get(sourceType) ?? new Map<string, Set<string>>();
        wanted.set(sourceType, ids);
        ids.set(sourceId, (ids.get(sourceId) ?? new Set()).add(ref.md5));
      }
    }
    const found = new Set<string>();
    for (const [sourceType, ids] of wanted) {
      const source = this.open(sourceType);
      if (!source) continue;
      try {
        for await (const entry of source.entries()) {
          if (entry.kind !== 'item') continue;
          const md5s = [...(ids.get(entry.item.sourceId) ?? [])].filter((m) => !found.has(m));
          if (md5s.length === 0) continue;
          const bytes = await fs.readFile(entry.item.path).catch(() => undefined);
          if (!bytes) continue;
          const md5 = createHash('md5').update(bytes).digest('hex');
          if (!md5s.includes(md5)) continue;
          found.add(md5);
          yield { md5, bytes };
        }
      } catch {
        // The source's folder or manifest is gone or unreadable: nothing to find there.
      }
    }
  }

  private open(sourceType: string): Source | undefined {
    try {
      return openSource(sourceType, this.paths);
    } catch {
      return undefined;
    }
  }
}
