/**
 * Any OpenAI-compatible `/embeddings` endpoint (OpenAI, ModelScope's Qwen3
 * embeddings, SiliconFlow, vLLM...) through the `openai` package, asking for
 * floats and, where the model supports it, the configured `dimensions`.
 * Queries get the model's instruction prefix (query-instructions.ts). A
 * multimodal model (config `input: image`, e.g. SiliconFlow's
 * Qwen3-VL-Embedding) takes items: `{"image": "data:image/jpeg;base64,…"}`
 * for pictures and `{"text": "…"}` for text.
 */
import OpenAI from 'openai';
import type { EmbedInput, Embedder, EmbedMode } from '../../ports.js';
import type { BreakerState } from '../../resilience/circuit-breaker.js';
import type { ProviderGate } from '../../resilience/provider-gate.js';
import type { ProviderIdentity } from '../remote-failure.js';
import { acceptsDimensions, textForModel } from './query-instructions.js';
import { vectorsInOrder } from './response-vectors.js';

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';
export const MODELSCOPE_DEFAULT_BASE_URL = 'https://api-inference.modelscope.cn/v1';

export interface OpenAIEmbedderOptions {
  model: string;
  dimensions: number;
  baseURL: string;
  apiKey: string;
  gate: ProviderGate;
  identity: ProviderIdentity;
  /** `image`: a multimodal model; every input is sent as an item. */
  input?: EmbedInput;
}

export class OpenAIEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;
  readonly input: EmbedInput;
  private readonly client: OpenAI;

  constructor(private readonly opts: OpenAIEmbedderOptions) {
    this.model = opts.model;
    this.dimensions = opts.dimensions;
    this.input = opts.input ?? 'text';
    // Explicit baseURL and apiKey; retries are the ProviderGate's.
    this.client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL, maxRetries: 0 });
  }

  circuit(): BreakerState {
    return this.opts.gate.circuit;
  }

  async embed(texts: string[], mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]> {
    const input = texts.map((t) => textForModel(this.model, t, mode));
    return this.request(this.input === 'image' ? input.map((text) => ({ text })) : input, signal);
  }

  async embedImages(pictures: Buffer[], _mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]> {
    return this.request(pictures.map((p) => ({ image: `data:image/jpeg;base64,${p.toString('base64')}` })), signal);
  }

  private async request(items: unknown[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (items.length === 0) return [];
    // The client types `input` as text; multimodal endpoints take item objects in the same field.
    const input = items as string[];
    const { gate, identity } = this.opts;
    return gate.run(async (requestSignal) => {
      const response = await this.client.embeddings.create(
        {
          model: this.model,
          input,
          encoding_format: 'float',
          ...(acceptsDimensions(this.model) ? { dimensions: this.dimensions } : {}),
        },
        { signal: requestSignal },
      );
      return vectorsInOrder(response.data, items.length, identity);
    }, signal);
  }
}
