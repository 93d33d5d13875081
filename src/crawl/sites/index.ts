/** The sites `emomo crawl --source` knows. */
import { UsageError } from '../../errors.js';
import type { CrawlSite } from '../site.js';
import { fabiaoqing } from './fabiaoqing.js';

const SITES: readonly CrawlSite[] = [fabiaoqing];

export function siteById(id: string): CrawlSite {
  const site = SITES.find((s) => s.id === id);
  if (!site) throw new UsageError(`unknown crawl source "${id}"; known: ${SITES.map((s) => s.id).join(', ')}`);
  return site;
}

export function siteIds(): string[] {
  return SITES.map((s) => s.id);
}
