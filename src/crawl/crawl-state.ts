/** The per-source crawl cursor in `staging/<id>/state.json`, replaced atomically so cron runs continue where the last stopped. */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface CrawlState {
  /** The list page the next run starts from. */
  cursor: number;
  updated_at: string;
}

/** The saved state, or undefined when there is none (or it is unreadable: a fresh start is the safe reading). */
export async function readCrawlState(file: string): Promise<CrawlState | undefined> {
  try {
    const value = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<CrawlState>;
    if (typeof value.cursor === 'number' && Number.isInteger(value.cursor) && value.cursor >= 1) {
      return { cursor: value.cursor, updated_at: String(value.updated_at ?? '') };
    }
  } catch {
    // missing or damaged: start from the default cursor
  }
  return undefined;
}

export async function writeCrawlState(file: string, cursor: number, now = new Date()): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const state: CrawlState = { cursor, updated_at: now.toISOString() };
  await fs.writeFile(temp, `${JSON.stringify(state)}\n`);
  await fs.rename(temp, file);
}
