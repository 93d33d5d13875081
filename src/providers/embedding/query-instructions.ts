/**
 * Per-model rules for how a search query differs from a stored document, in
 * one place. Qwen3-Embedding models are trained with an instruction before
 * the query (documents go in plain); most OpenAI-style models take both as is.
 * Jina expresses the same idea with its `task` field instead (jina-embedder.ts).
 */
import type { EmbedMode } from '../../ports.js';

const QUERY_INSTRUCTIONS: ReadonlyArray<{ model: RegExp; prefix: string }> = [
  {
    model: /qwen3-embedding/i,
    prefix: 'Instruct: Given a search query about a meme, retrieve memes that match\nQuery: ',
  },
];

/** The text actually sent for `text` in `mode` to `model`. */
export function textForModel(model: string, text: string, mode: EmbedMode): string {
  if (mode !== 'query') return text;
  const rule = QUERY_INSTRUCTIONS.find((r) => r.model.test(model));
  return rule ? rule.prefix + text : text;
}

/** Models that reject a `dimensions` parameter (they only have their native size). */
const FIXED_DIMENSION_MODELS = /text-embedding-ada-002/i;

export function acceptsDimensions(model: string): boolean {
  return !FIXED_DIMENSION_MODELS.test(model);
}
