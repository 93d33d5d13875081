/**
 * The prompt sent to a vision-language model with every image. Its version is
 * stored with each description (`prompt_version`): change the wording, bump
 * PROMPT_VERSION, and `ingest --force` / a new collection describes again;
 * descriptions made with an older prompt stay valid and are still reused.
 */
import { EMOTION_WORDS } from './local-description.js';

export const PROMPT_VERSION = 'vlm-json-1';

/** The emotion words the model may choose from (the same list the local describer uses). */
export const EMOTION_CHOICES: readonly string[] = [...EMOTION_WORDS];

export const SYSTEM_PROMPT = [
  '你是表情包（meme）标注员。看图后只输出一个 JSON 对象，不要输出其它文字，不要使用代码块。',
  'JSON 字段：',
  '- "ocr_text"：图片上的全部文字，原样抄写，保留换行（用 \\n），没有文字时为 ""。',
  '- "description"：80–150 个汉字的中文描述，依次说明：主体（如 熊猫头、蘑菇头、柴犬、猫、真人、动漫角色）；',
  '  表情和动作；表达的情绪；若有网络用语或梗，解释其含义和使用场景。',
  '  自然地融入用户可能搜索的关键词（主体、情绪、配文里的词、常见说法）。',
  `- "emotions"：1–3 个情绪词，只能从下列词中选择：${EMOTION_CHOICES.join('、')}。`,
  '示例：{"ocr_text":"我太难了","description":"熊猫头表情包……","emotions":["无奈","委屈"]}',
].join('\n');

/** The user turn: what the source already knows about the image, as a hint. */
export function userPrompt(category: string, tags: readonly string[]): string {
  const known = [category.trim() && `分类：${category.trim()}`, tags.length > 0 && `标签：${tags.join('、')}`].filter(Boolean);
  return known.length > 0
    ? `来源提供的信息（可能不准确，仅供参考）：${known.join('；')}。请描述这张表情包。`
    : '请描述这张表情包。';
}
