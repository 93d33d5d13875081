/**
 * The sites `emomo crawl --source` knows. Each site module (and its HTML
 * parser) is loaded only when that site is crawled, so listing the ids for
 * `--help` costs nothing.
 */
import { UsageError } from '../../errors.js';
import type { CrawlSite } from '../site.js';

const SITES: ReadonlyArray<{ id: string; load: () => Promise<CrawlSite> }> = [
  { id: 'fabiaoqing', load: async () => (await import('./fabiaoqing.js')).fabiaoqing },
];

export async function siteById(id: string): Promise<CrawlSite> {
  const site = SITES.find((s) => s.id === id);
  if (!site) throw new UsageError(`unknown crawl source "${id}"; known: ${siteIds().join(', ')}`);
  return site.load();
}

export function siteIds(): string[] {
  return SITES.map((s) => s.id);
}
