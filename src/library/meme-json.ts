/** One meme as `GET /api/memes/{md5}` and `openLibrary().meme()` return it. */
import type { MemeDetails } from '../store/ports.js';

export function memeJson(m: MemeDetails, url: string) {
  return {
    md5: m.md5,
    meme_id: m.id,
    storage_key: m.storageKey,
    url,
    format: m.format,
    width: m.width,
    height: m.height,
    frames: m.frames,
    is_animated: m.isAnimated,
    file_size: m.fileSize,
    category: m.category,
    tags: m.tags,
    description: m.description,
    ocr_text: m.ocrText,
    emotions: m.emotions,
    described_by: m.describedBy && { vlm_model: m.describedBy.vlmModel, prompt_version: m.describedBy.promptVersion },
    sources: m.sources.map((s) => ({ source_type: s.sourceType, source_id: s.sourceId, source_url: s.sourceUrl })),
    created_at: m.createdAt,
  };
}

export type MemeJson = ReturnType<typeof memeJson>;
