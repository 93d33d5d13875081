/**
 * Category and tag guesses from folder and file names. The names in meme
 * collections are the only human labels a tree source has, so we keep the
 * meaningful words and drop what cameras, chat apps and hash names add.
 */

export const DEFAULT_CATEGORY = '未分类';

/** Most tags taken from one file name; the rest of a long caption is better found by OCR. */
const MAX_NAME_TAGS = 5;
const MAX_TAG_LENGTH = 32;

// Emoji only: \p{Emoji} would also match digits, '#' and '*'.
const EMOJI = /[\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}\u200D\uFE0E\uFE0F\u20E3]/gu;
const HAN = /\p{Script=Han}/u;

/** Words that name the tool or the device that made a file, not the meme. */
const NOISE = new Set([
  'img', 'image', 'images', 'pic', 'pics', 'photo', 'dsc', 'screenshot', 'snipaste', 'mmexport',
  'copy', 'gif', 'jpg', 'jpeg', 'png', 'webp', 'bqb',
  'qq图片', '微信图片', '图片', '截图', '屏幕截图', '未命名', '副本',
]);

/**
 * `001Funny_滑稽大佬😏BQB` → `滑稽大佬`, `014猪_Pig🐖BQB` → `猪`, `023Emoji_BQB` → `Emoji`.
 * The ASCII part is dropped only when a Chinese name is left, so a folder
 * named only in English keeps its name; the raw name is the last resort.
 */
export function cleanCategory(folder: string): string {
  let s = folder.replace(/^\d+/, '').replace(/BQB$/i, '').replace(EMOJI, '').trim();
  if (HAN.test(s)) s = s.replace(/^[A-Za-z][A-Za-z _]*/, '').replace(/_?[A-Za-z][A-Za-z ]*$/, '');
  s = s.replace(/^[\s_-]+|[\s_-]+$/g, '');
  return s || folder.trim() || DEFAULT_CATEGORY;
}

/**
 * Tags from a file name: `滑稽大佬00001-抱拳.gif` → `滑稽大佬`, `抱拳`;
 * `CuteGirl00191.jpg` → `cute`, `girl`. At most five, deduplicated.
 */
export function tagsFromFileName(fileName: string): string[] {
  const stem = fileName.replace(/\.[^.]*$/, '');
  // Names like `AKZ{4%1(IEUIZ3O]FX5TPTU.jpg` (QQ) or a bare hash are generated: their letters mean nothing.
  const generated = /[{}%@$~`^]/.test(stem) || /^[0-9a-f-]{16,}$/i.test(stem);
  const tags: string[] = [];
  // Splitting on anything that is not a letter also drops digit runs, separators, punctuation and emoji.
  for (const piece of stem.split(/[^\p{L}\p{M}]+/u)) {
    if (!piece || piece.length > MAX_TAG_LENGTH) continue;
    if (HAN.test(piece)) tags.push(piece);
    else if (/^[A-Za-z]+$/.test(piece)) {
      if (!generated) tags.push(...englishWords(piece));
    } else if (piece.length >= 2) tags.push(piece); // kana, hangul...: kept as written
  }
  return dedupe(tags.filter((t) => !NOISE.has(t.toLowerCase()))).slice(0, MAX_NAME_TAGS);
}

/** `GoldenCuratorPanda` → golden, curator, panda. A word without a vowel is an abbreviation or noise. */
function englishWords(run: string): string[] {
  const words = run.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+/g) ?? [];
  return words.map((w) => w.toLowerCase()).filter((w) => w.length >= 2 && /[aeiouy]/.test(w));
}

/** Keeps the first of each tag (trimmed, non-empty), in order. */
export function dedupe(tags: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const tag of tags) {
    const t = tag.trim();
    if (t) out.add(t);
  }
  return [...out];
}
