/**
 * The pure half of the local describer: turning OCR lines into caption text,
 * and caption, category and tags into a description. No I/O, so it is tested
 * without loading a model. Changing anything here that alters the output
 * means bumping `LocalDescriber.promptVersion`.
 */

/**
 * Identity stored with each description; known without loading the models.
 * Reading the first frame only is what `local-1` always did; reading several
 * frames changes the caption of animated memes, so it is another version.
 */
export function localDescriberId(maxFrames = 1): { model: string; promptVersion: string } {
  return { model: 'local-ocr/ppocr-v4', promptVersion: maxFrames <= 1 ? 'local-1' : `local-2-f${maxFrames}` };
}

/** One line as the OCR engine reports it. */
export interface OcrLine {
  text: string;
  /** Mean character confidence, 0..1. */
  confidence: number;
  /** Corner points [x, y]; missing when the engine could not place the line. */
  box?: number[][];
}

/**
 * Tags that name a feeling. A tag in this list becomes one of the
 * description's `emotions`; other tags (subject, source, style) do not.
 */
export const EMOTION_WORDS: ReadonlySet<string> = new Set([
  // joy
  '开心', '高兴', '快乐', '哈哈', '大笑', '笑哭', '兴奋', '激动', '期待', '满足', '得意', '嘚瑟', '骄傲', '自信',
  // sadness
  '难过', '伤心', '悲伤', '哭', '大哭', '委屈', '心累', '绝望', '崩溃', '失落', '孤独', 'emo',
  // anger and contempt
  '生气', '愤怒', '暴躁', '抓狂', '不爽', '鄙视', '嫌弃', '嘲讽', '阴阳怪气', '挑衅', '嫉妒', '羡慕',
  // awkward, helpless
  '无语', '无奈', '尴尬', '心虚', '害羞', '傲娇', '佛系', '摆烂', '躺平',
  // surprise, fear, doubt
  '震惊', '惊讶', '吃惊', '害怕', '恐惧', '紧张', '慌', '疑惑', '疑问', '困惑', '懵逼', '迷茫',
  // warmth
  '感动', '温暖', '感谢', '抱歉', '加油', '鼓励', '喜欢', '爱你', '比心', '思念',
  // body states
  '困', '困倦', '累', '疲惫', '饿', '馋',
  // tone
  '搞笑', '沙雕', '可爱', '卖萌', '撒娇',
]);

const HAN_OR_CJK_PUNCT = String.raw`[\p{Script=Han}\u3000-\u303f\uff00-\uffef]`;
/** Whitespace with CJK on both sides: OCR inserts it between boxes, Chinese never has it. */
const SPACE_INSIDE_CJK = new RegExp(String.raw`(?<=${HAN_OR_CJK_PUNCT})\s+(?=${HAN_OR_CJK_PUNCT})`, 'gu');

/**
 * The caption read from an image: lines at or above `minConfidence`, top to
 * bottom, and left to right within a row; one row per line of text. Lines
 * with no Han character and fewer than two letters or digits are dropped: a
 * lone "e" or "0" read off a pattern is noise, not a caption, and would only
 * add junk to search.
 */
export function captionLines(lines: readonly OcrLine[], minConfidence: number): string[] {
  const kept = lines.filter((line) => line.confidence >= minConfidence && !isNoise(line.text));
  return rowsOf(kept)
    .map((row) => cleanLine(row.map((line) => line.text).join(' ')))
    .filter((line) => line !== '');
}

function isNoise(text: string): boolean {
  return !/\p{Script=Han}/u.test(text) && (text.match(/[\p{L}\p{N}]/gu)?.length ?? 0) < 2;
}

function cleanLine(text: string): string {
  return text.replace(/\s+/g, ' ').replace(SPACE_INSIDE_CJK, '').trim();
}

interface Placed {
  line: OcrLine;
  top: number;
  bottom: number;
  left: number;
}

/** Groups lines whose vertical centres are within half a line height into rows. */
function rowsOf(lines: readonly OcrLine[]): OcrLine[][] {
  const placed: Placed[] = [];
  const unplaced: OcrLine[] = [];
  for (const line of lines) {
    const ys = line.box?.map((p) => p[1]).filter((v): v is number => Number.isFinite(v)) ?? [];
    const xs = line.box?.map((p) => p[0]).filter((v): v is number => Number.isFinite(v)) ?? [];
    if (ys.length === 0 || xs.length === 0) unplaced.push(line);
    else placed.push({ line, top: Math.min(...ys), bottom: Math.max(...ys), left: Math.min(...xs) });
  }
  placed.sort((a, b) => a.top + a.bottom - (b.top + b.bottom) || a.left - b.left);

  const rows: Placed[][] = [];
  for (const item of placed) {
    const row = rows.at(-1);
    const first = row?.[0];
    const centre = (item.top + item.bottom) / 2;
    if (row && first && Math.abs(centre - (first.top + first.bottom) / 2) < (first.bottom - first.top) / 2) {
      row.push(item);
    } else {
      rows.push([item]);
    }
  }
  return [
    ...rows.map((row) => row.sort((a, b) => a.left - b.left).map((item) => item.line)),
    // Lines without a box keep the engine's order, after the placed ones.
    ...unplaced.map((line) => [line]),
  ];
}

/**
 * The description template, in one place:
 *   <category>表情包，配文「<caption>」，标签：<tag>、<tag>
 * e.g. 熊猫头表情包，配文「我太难了」，标签：无奈、搞笑
 * With no caption: 熊猫头表情包，无配文，标签：…; with no category: 表情包，…;
 * with no tags (other than the category) the 标签 part is left out. Caption
 * lines are joined with a space so the description stays on one line.
 */
export function composeDescription(parts: { category: string; tags: readonly string[]; ocrText: string }): {
  description: string;
  emotions: string[];
} {
  const category = parts.category.trim();
  const tags = uniqueTags(parts.tags);
  const subject = category === '' ? '表情包' : category.endsWith('表情包') ? category : `${category}表情包`;
  const caption = parts.ocrText.split('\n').map((line) => line.trim()).filter(Boolean).join(' ');
  const pieces = [subject, caption === '' ? '无配文' : `配文「${caption}」`];
  // The category is already the subject; repeating it as a tag says nothing.
  const labels = tags.filter((tag) => tag !== category);
  if (labels.length > 0) pieces.push(`标签：${labels.join('、')}`);
  return {
    description: pieces.join('，'),
    emotions: tags.filter((tag) => EMOTION_WORDS.has(tag.toLowerCase())),
  };
}

function uniqueTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((tag) => tag.trim()).filter(Boolean))];
}
