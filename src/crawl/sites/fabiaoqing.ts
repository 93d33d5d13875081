/**
 * fabiaoqing.com (发表情): list pages `/biaoqing/lists/page/{n}.html` whose
 * memes are lazily loaded `<img class="ui image lazy" data-original="…">`
 * inside a link to the meme's detail page. The alt text is the caption,
 * often with a series name (熊猫头, 蘑菇头…) that becomes the category.
 */
import * as cheerio from 'cheerio';
import { dedupe } from '../../sources/naming.js';
import { idForImageUrl, type Candidate, type CrawlSite } from '../site.js';

const DEFAULT_CATEGORY = '表情包';
const MAX_TAGS = 5;
const MAX_TAG_LENGTH = 20;

/** Series the site files memes under; the first one named in the alt text is the category. */
const SERIES: readonly [RegExp, string][] = [
  [/熊猫头|熊貓頭/, '熊猫头'],
  [/蘑菇头/, '蘑菇头'],
  [/金馆长/, '金馆长'],
  [/姚明/, '姚明'],
  [/兔斯基/, '兔斯基'],
  [/暴走漫画|暴漫/, '暴漫'],
  [/滑稽/, '滑稽'],
  [/柴犬|狗头/, '狗头'],
  [/猫猫|喵/, '猫猫'],
];

/** Spinners, transparent pixels and site chrome, not memes. */
const NOT_A_MEME = /(^data:)|placeholder|lazyload|loading|transparent|blank\.|spacer|\/icons?\/|icon|logo|avatar|favicon/i;

/** Words the site appends to every caption. */
const FILLER = new Set(['表情包', '表情', '斗图', '发表情', 'fabiaoqing']);

export function categoryAndTags(alt: string): { category: string; tags: string[] } {
  const text = alt.replace(/表情包?$/u, '').trim();
  const series = SERIES.find(([re]) => re.test(text))?.[1];
  const words = text
    .split(/[\s,，.。!！?？、:：;；"“”'‘’()（）[\]【】《》<>|/\\~～·…-]+/u)
    .map((w) => w.replace(/表情包$/u, ''))
    .filter((w) => w.length > 0 && w.length <= MAX_TAG_LENGTH && !FILLER.has(w.toLowerCase()));
  return { category: series ?? DEFAULT_CATEGORY, tags: dedupe([...(series ? [series] : []), ...words]).slice(0, MAX_TAGS) };
}

export const fabiaoqing: CrawlSite = {
  id: 'fabiaoqing',
  defaultBaseUrl: 'https://fabiaoqing.com',

  listPageUrl(baseUrl, page) {
    return new URL(`biaoqing/lists/page/${page}.html`, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href;
  },

  parseListPage(html, pageUrl) {
    const $ = cheerio.load(html);
    const seen = new Set<string>();
    const out: Candidate[] = [];
    $('img.ui.image.lazy, img[data-original]').each((_, el) => {
      const img = $(el);
      const raw = [img.attr('data-original'), img.attr('data-src'), img.attr('src')]
        .map((v) => v?.trim())
        .find((v) => v && !NOT_A_MEME.test(v));
      if (!raw) return;
      const imageUrl = absoluteHttpUrl(raw, pageUrl);
      if (!imageUrl) return;
      const id = idForImageUrl(imageUrl);
      if (seen.has(id)) return;
      seen.add(id);
      const href = img.closest('a[href]').attr('href');
      const sourceUrl = (href && absoluteHttpUrl(href, pageUrl)) || pageUrl;
      const alt = (img.attr('alt') || img.attr('title') || '').trim();
      out.push({ id, imageUrl, sourceUrl, ...categoryAndTags(alt) });
    });
    return out;
  },
};

/** Resolves `//host/x.jpg` and relative URLs against the page; undefined for non-http(s). */
function absoluteHttpUrl(raw: string, base: string): string | undefined {
  try {
    const url = new URL(raw, base);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}
