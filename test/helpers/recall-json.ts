/** The `emomo recall --json` contract as a zod schema, and an in-process runner returning parsed output. */
import { z } from 'zod';
import { createApp, type AppOverrides } from '../../src/app.js';
import { runRecall, type RecallFlags } from '../../src/cli/commands/recall.js';
import { Reporter } from '../../src/cli/reporter.js';
import { Capture } from './run-ingest.js';

const ms = z.number().nonnegative();
const nullableScore = z.number().nullable();
const expansion = z.object({ term: z.string().min(1), for: z.string().min(1), source: z.enum(['config', 'slang', 'curated', 'thesaurus']) }).strict();

export const RecallJson = z
  .object({
    query: z.string(),
    picture: z.boolean(),
    collapsed: z.number().int().nonnegative(),
    mode: z.enum(['hybrid', 'vector', 'keyword']),
    collection: z.string(),
    partial: z.boolean(),
    reason: z.string().nullable(),
    failed: z.boolean(),
    terms: z.array(z.string()),
    characters: z.array(z.string()),
    expansions: z.array(expansion.extend({ weight: z.number().positive().max(1) }).strict()),
    vector_method: z.enum(['exact', 'quantized', 'hnsw']).nullable(),
    candidates: z.number().int().nonnegative().nullable(),
    errors: z.array(z.object({ stage: z.enum(['terms', 'embed', 'vector', 'keyword', 'image', 'collapse', 'fetch']), message: z.string() }).strict()),
    timings_ms: z
      .object({
        terms: ms.optional(),
        embed: ms.optional(),
        vector: ms.optional(),
        keyword: ms.optional(),
        image: ms.optional(),
        collapse: ms.optional(),
        fuse: ms.optional(),
        fetch: ms.optional(),
        total: ms,
      })
      .strict(),
    results: z.array(
      z
        .object({
          rank: z.number().int().positive(),
          meme_id: z.number().int().positive(),
          md5: z.string().regex(/^[0-9a-f]{32}$/),
          storage_key: z.string().min(1),
          url: z.string().min(1),
          score: z.number(),
          scores: z.object({ vector: nullableScore, keyword: nullableScore, fused: nullableScore, image: nullableScore }).strict(),
          explain: z
            .object({
              vector_rank: z.number().int().positive().nullable(),
              image_rank: z.number().int().positive().nullable(),
              keyword_rank: z.number().int().positive().nullable(),
              matched_terms: z.array(z.string()),
              matched_characters: z.array(z.string()),
              matched_expansions: z.array(expansion),
              exact_caption: z.boolean(),
              keyword_parts: z.object({ query: z.number(), characters: z.number(), expansions: z.number() }).strict().nullable(),
              contributions: z.object({ vector: z.number(), keyword: z.number(), exact: z.number(), image: z.number().optional() }).strict().nullable(),
            })
            .strict(),
          description: z.string(),
          ocr_text: z.string(),
          tags: z.array(z.string()),
          category: z.string(),
          is_animated: z.boolean(),
          duplicates: z.array(z.number().int().positive()),
        })
        .strict(),
    ),
  })
  .strict();
export type RecallJson = z.infer<typeof RecallJson>;

export const defaultRecallFlags: RecallFlags = { topK: 10, tag: [], mode: 'hybrid', timeout: 3000, exact: false, explain: false };

/** Runs `recall --json` in-process; the output must parse against the schema. */
export async function recallInProcess(
  configPath: string,
  query: string,
  flags: Partial<RecallFlags> = {},
  overrides: AppOverrides = {},
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number; json: RecallJson; log: string }> {
  const app = createApp({ configPath, env }, overrides);
  const stdout = new Capture();
  const stderr = new Capture();
  const reporter = new Reporter({ json: true, quiet: false, verbose: false }, stderr, stdout);
  try {
    const code = await runRecall(query, { ...defaultRecallFlags, ...flags }, app, reporter);
    return { code, json: RecallJson.parse(JSON.parse(stdout.text)), log: stderr.text };
  } finally {
    await app.close();
  }
}
