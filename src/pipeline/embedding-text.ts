/**
 * The one text that gets embedded for a meme. It carries both the words on
 * the image (what people type when they remember a meme) and its meaning
 * (description, tags, emotions), one labelled line each, empty parts left out:
 *
 *   文字：我太难了
 *   描述：熊猫头表情包，配文「我太难了」…
 *   标签：熊猫头、无奈
 *   情绪：无奈、委屈
 */
import type { Description } from '../ports.js';

export function embeddingText(d: Description, tags: readonly string[]): string {
  const lines: Array<[string, string]> = [
    ['文字', d.ocrText.replace(/\s*\n\s*/g, ' ').trim()],
    ['描述', d.description.trim()],
    ['标签', tags.join('、')],
    ['情绪', d.emotions.join('、')],
  ];
  return lines
    .filter(([, value]) => value.length > 0)
    .map(([label, value]) => `${label}：${value}`)
    .join('\n');
}
