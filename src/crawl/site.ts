/**
 * What a crawlable site must provide. A site is pure: it names its list pages
 * and turns a page's HTML into candidates; fetching, politeness and staging
 * are the crawl service's job. Adding a site is one file in sites/ plus one
 * line in sites/index.ts.
 */
import { createHash } from 'node:crypto';

/** One image found on a list page. */
export interface Candidate {
  /** Stable id: the first 16 hex characters of md5(imageUrl). */
  id: string;
  imageUrl: string;
  category: string;
  tags: string[];
  /** The page that shows the image (its detail page when known). */
  sourceUrl: string;
}

export interface CrawlSite {
  /** The staging folder name and `--source` value, e.g. "fabiaoqing". */
  readonly id: string;
  readonly defaultBaseUrl: string;
  /** URL of list page `page` (1-based) under `baseUrl`. */
  listPageUrl(baseUrl: string, page: number): string;
  /** Candidates on a list page, in page order, without duplicates. An empty list ends the crawl. */
  parseListPage(html: string, pageUrl: string): Candidate[];
}

/** The id scheme the original crawler used, so staged ids stay comparable. */
export function idForImageUrl(imageUrl: string): string {
  return createHash('md5').update(imageUrl).digest('hex').slice(0, 16);
}
