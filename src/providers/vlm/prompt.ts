/**
 * The prompt sent to a vision-language model with every image. Its version is
 * stored with each description (`prompt_version`): change the wording, bump
 * the version, and `ingest --force` or `redescribe` describes again;
 * descriptions made with an older prompt stay valid and are still reused.
 *
 * A still (or the first frame alone) gets exactly the prompt of
 * `vlm-json-1`; an animation's frames come with a note saying they are frames
 * of one animation in playing order, so the version also names how frames
 * are sent and how many at most.
 */
import type { AnimatedFrames } from '../../config/types.js';
import { EMOTION_WORDS } from './local-description.js';

export const PROMPT_VERSION = 'vlm-json-1';

/** The prompt version of a describer that sends frames this way. */
export function promptVersion(mode: AnimatedFrames, maxFrames: number): string {
  if (mode === 'first') return PROMPT_VERSION;
  return `vlm-json-2-${mode === 'contact_sheet' ? 's' : 'f'}${maxFrames}`;
}

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

/** How the pictures of one request show the image. */
export type PictureLayout = { kind: 'still' } | { kind: 'frames' | 'sheet'; frames: number };

/** The user turn: what the source already knows about the image, as a hint, and what the pictures are. */
export function userPrompt(category: string, tags: readonly string[], layout: PictureLayout = { kind: 'still' }): string {
  const known = [category.trim() && `分类：${category.trim()}`, tags.length > 0 && `标签：${tags.join('、')}`].filter(Boolean);
  const hint = known.length > 0 ? `来源提供的信息（可能不准确，仅供参考）：${known.join('；')}。` : '';
  if (layout.kind === 'still') return `${hint}请描述这张表情包。`;
  const shown =
    layout.kind === 'frames'
      ? `下面 ${layout.frames} 张图片是同一张动图表情包按播放顺序取出的 ${layout.frames} 帧（第 1 张最早）。`
      : `这张图片是同一张动图表情包的 ${layout.frames} 帧拼成的网格，按从左到右、从上到下的顺序播放。`;
  return (
    `${hint}${shown}请把它们当作一个动图来描述：` +
    'ocr_text 按出现顺序抄写各帧上的全部文字，同一句只写一次；description 说明动图里发生了什么（动作、表情和文字的变化）。'
  );
}
