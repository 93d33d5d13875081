/**
 * The API's answers as JSON schemas: the OpenAPI document (/api/openapi.json)
 * shows them, and Fastify serialises the meme, stats and health answers with
 * them (recall answers are rendered once and cached as text). They describe
 * the shapes of src/library (recall-json.ts, meme-json.ts, health.ts, the
 * stats service); the API tests hold the answers to them.
 */
const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const bool = { type: 'boolean' } as const;
const nullable = (type: 'number' | 'integer' | 'string') => ({ type: [type, 'null'] });
const strings = { type: 'array', items: str } as const;

function object(properties: Record<string, unknown>, description?: string) {
  return { type: 'object', additionalProperties: false, required: Object.keys(properties), properties, ...(description ? { description } : {}) };
}

const expansion = object({ term: str, for: str, source: { type: 'string', enum: ['config', 'slang', 'curated', 'thesaurus'] } });

const recallHit = object({
  rank: int,
  meme_id: int,
  md5: str,
  storage_key: str,
  url: { type: 'string', description: 'Where the image is fetched: this server\'s /objects/{key}, or the public URL of S3 / R2 storage' },
  score: { type: 'number', description: 'The ranking score: fused (hybrid), similarity (vector) or BM25 (keyword)' },
  scores: object({ vector: nullable('number'), keyword: nullable('number'), fused: nullable('number'), image: nullable('number') }),
  explain: object({
    vector_rank: nullable('integer'),
    image_rank: nullable('integer'),
    keyword_rank: nullable('integer'),
    matched_terms: strings,
    matched_characters: strings,
    matched_expansions: { type: 'array', items: expansion },
    exact_caption: bool,
    keyword_parts: { type: ['object', 'null'], additionalProperties: false, required: ['query', 'characters', 'expansions'], properties: { query: num, characters: num, expansions: num } },
    contributions: { type: ['object', 'null'], additionalProperties: false, required: ['vector', 'keyword', 'exact'], properties: { vector: num, keyword: num, exact: num, image: num } },
  }),
  description: str,
  ocr_text: { type: 'string', description: 'The text on the meme (its caption)' },
  tags: strings,
  category: str,
  is_animated: bool,
  duplicates: { type: 'array', items: int, description: 'Ids of copies of this meme (same picture and caption) folded into this result' },
});

const stage = { type: 'string', enum: ['terms', 'embed', 'vector', 'keyword', 'image', 'collapse', 'fetch'] };
const ms = { type: 'number', description: 'milliseconds' };

export const recallSchema = object(
  {
    query: str,
    picture: { type: 'boolean', description: 'A query picture was searched' },
    collapsed: { ...int, description: 'Results folded into a better-ranked copy of the same meme' },
    mode: { type: 'string', enum: ['hybrid', 'vector', 'keyword'] },
    collection: str,
    partial: { type: 'boolean', description: 'A side the mode asked for could not run (e.g. the embedding provider did not answer in time): these are the other side\'s results' },
    reason: { ...nullable('string'), description: 'Why the result is partial or failed' },
    failed: { type: 'boolean', description: 'Nothing could be searched (e.g. vector mode with the provider down)' },
    terms: strings,
    characters: strings,
    expansions: { type: 'array', items: object({ ...expansion.properties, weight: num }) },
    vector_method: { type: ['string', 'null'], enum: ['exact', 'quantized', 'hnsw', null] },
    candidates: nullable('integer'),
    errors: { type: 'array', items: object({ stage, message: str }) },
    timings_ms: {
      type: 'object',
      additionalProperties: false,
      required: ['total'],
      properties: { terms: ms, embed: ms, vector: ms, keyword: ms, image: ms, fuse: ms, collapse: ms, fetch: ms, total: ms },
    },
    results: { type: 'array', items: recallHit },
  },
  'The same object `emomo recall --json` prints',
);

export const memeSchema = object({
  md5: str,
  meme_id: int,
  storage_key: str,
  url: str,
  format: str,
  width: int,
  height: int,
  frames: int,
  is_animated: bool,
  file_size: int,
  category: str,
  tags: strings,
  description: str,
  ocr_text: str,
  emotions: strings,
  described_by: { type: ['object', 'null'], additionalProperties: false, required: ['vlm_model', 'prompt_version'], properties: { vlm_model: str, prompt_version: str } },
  sources: { type: 'array', items: object({ source_type: str, source_id: str, source_url: nullable('string') }) },
  created_at: { type: 'string', description: 'ISO 8601' },
});

const circuit = { type: ['string', 'null'], enum: ['closed', 'open', 'half-open', 'stopped', 'not started', null], description: 'null: an offline provider, no circuit' };

export const healthSchema = object({
  ok: { type: 'boolean', description: 'The library answers (recall works, at worst on keywords only)' },
  degraded: { type: 'boolean', description: 'A provider circuit is open or stopped: vector results are missing until it recovers' },
  library: {
    type: 'object',
    additionalProperties: false,
    required: ['reachable'],
    properties: { reachable: bool, memes: int, schema_version: int, collections: strings, error: str },
  },
  providers: {
    type: 'array',
    items: object({ embedding: str, provider: str, model: str, collection: str, is_default: bool, circuit }),
  },
  searches: object(
    { running: int, waiting: int, refused: int, dropped: int, answer_interval_ms: num },
    'Searches running and waiting now; requests refused since the start (429: line full, 503: line too long for request_timeout); ' +
      'searches dropped because their time ran out while they waited; recent time between two answers while searches wait',
  ),
});

const counted = (fields: Record<string, unknown>) => ({ type: 'array', items: object(fields) });

export const statsSchema = object(
  {
    sources: counted({ source: str, memes: int, animated: int, bytes: int, animated_share: num }),
    collections: counted({ collection: str, dims: int, model: str, vectors: int }),
    memes_by_status: counted({ status: str, count: int }),
    jobs_by_status: counted({ status: str, count: int }),
    top_failure_reasons: counted({ stage: str, reason: str, count: int }),
    descriptions_by_model: counted({ vlm_model: str, prompt_version: str, count: int, prompt_tokens: int, completion_tokens: int }),
    storage: { type: 'object', additionalProperties: false, required: ['bytes', 'memes'], properties: { bytes: int, memes: int, objects: int } },
  },
  'What `emomo stats --json` reports, without the object count and the library paths',
);

export const errorSchema = object({
  error: object({
    code: { type: 'string', enum: ['bad_request', 'unauthorized', 'not_found', 'too_large', 'busy', 'unavailable', 'internal'] },
    message: str,
  }),
});
