/**
 * Reads a model's reply leniently: models wrap JSON in code fences, add a
 * sentence before or after it, or use slightly different shapes. We take the
 * first balanced {...} object in the text, then validate its fields.
 */
import { z } from 'zod';
import type { Description } from '../../ports.js';
import { EMOTION_WORDS } from './local-description.js';

/** The first complete JSON object in `text` (fences and surrounding prose ignored), or undefined. */
export function extractJsonObject(text: string): unknown {
  for (let start = text.indexOf('{'); start !== -1; start = text.indexOf('{', start + 1)) {
    const end = matchingBrace(text, start);
    if (end === -1) return undefined;
    try {
      return JSON.parse(text.slice(start, end + 1));
    } catch {
      // not JSON after all (e.g. "{" in prose); try the next brace
    }
  }
  return undefined;
}

/** Index of the brace closing the one at `start`, honouring strings and escapes; -1 if none. */
function matchingBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

const listOfWords = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(/[、，,;；\s]+/) : v),
  z.array(z.string()),
);

const replySchema = z.object({
  ocr_text: z.preprocess((v) => (v === null || v === undefined ? '' : v), z.string()),
  description: z.string().trim().min(1, 'description is empty'),
  emotions: z.preprocess((v) => v ?? [], listOfWords),
});

export type ParsedReply = { ok: true; description: Description } | { ok: false; problem: string };

export function parseDescriptionReply(text: string): ParsedReply {
  const json = extractJsonObject(text);
  if (json === undefined) return { ok: false, problem: 'no JSON object in the reply' };
  const parsed = replySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, problem: `${issue?.path.join('.') || 'reply'}: ${issue?.message ?? 'invalid'}` };
  }
  const { ocr_text, description, emotions } = parsed.data;
  return {
    ok: true,
    description: {
      ocrText: ocr_text.replace(/\r\n?/g, '\n').trim(),
      description: description.trim(),
      // Only words from the fixed list: free-form emotions would fragment tag filters.
      emotions: [...new Set(emotions.map((w) => w.trim()).filter((w) => EMOTION_WORDS.has(w.toLowerCase())))],
    },
  };
}
