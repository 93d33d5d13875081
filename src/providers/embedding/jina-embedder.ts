/**
 * Jina embeddings (`jina-embeddings-v3`...) over plain fetch: POST
 * {base}/v1/embeddings with Jina's own `task` field, retrieval.passage for
 * stored memes and retrieval.query for searches, plus `dimensions`
 * (Matryoshka truncation). A multimodal model (`jina-clip-v2`,
 * `jina-embeddings-v4`, config `input: image`) takes items instead of
 * strings: `{"image": "<base64>"}` for pictures, `{"text": "…"}` for text.
 */
import type { EmbedInput, Embedder, EmbedMode } from '../../ports.js';
import type { Redactor } from '../../redact.js';
import type { BreakerState } from '../../resilience/circuit-breaker.js';
import type { ProviderGate } from '../../resilience/provider-gate.js';
import { httpFailure, type ProviderIdentity } from '../remote-failure.js';
import { vectorsInOrder } from './response-vectors.js';

export const JINA_DEFAULT_BASE_URL = 'https://api.jina.ai';

export interface JinaEmbedderOptions {
  model: string;
  dimensions: number;
  /** https://api.jina.ai (a trailing /v1 is accepted too). */
  baseURL: string;
  apiKey: string;
  gate: ProviderGate;
  identity: ProviderIdentity;
  redact: Redactor;
  /** `image`: a multimodal model; every input is sent as an item. */
  input?: EmbedInput;
}

export class JinaEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;
  readonly input: EmbedInput;
  private readonly url: string;

  constructor(private readonly opts: JinaEmbedderOptions) {
    this.model = opts.model;
    this.dimensions = opts.dimensions;
    this.input = opts.input ?? 'text';
    this.url = `${opts.baseURL.replace(/\/+$/, '').replace(/\/v1$/, '')}/v1/embeddings`;
  }

  circuit(): BreakerState {
    return this.opts.gate.circuit;
  }

  async embed(texts: string[], mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]> {
    return this.request(this.input === 'image' ? texts.map((text) => ({ text })) : texts, mode, signal);
  }

  async embedImages(pictures: Buffer[], mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]> {
    return this.request(pictures.map((p) => ({ image: p.toString('base64') })), mode, signal);
  }

  private async request(inputs: unknown[], mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    const body = JSON.stringify({
      model: this.model,
      task: mode === 'query' ? 'retrieval.query' : 'retrieval.passage',
      dimensions: this.dimensions,
      embedding_type: 'float',
      input: inputs,
    });
    const { gate, identity, apiKey, redact } = this.opts;
    return gate.run(async (requestSignal) => {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${apiKey}` },
        body,
        signal: requestSignal,
      });
      const text = await response.text();
      if (!response.ok) throw httpFailure(identity, response.status, errorDetail(text), response.headers, redact);
      const json = JSON.parse(text) as { data?: unknown }; // a SyntaxError is classified as retryable
      return vectorsInOrder(json.data, inputs.length, identity);
    }, signal);
  }
}

/** The readable part of an error body: `detail` / `error.message` when JSON, else the text. */
function errorDetail(text: string): string {
  try {
    const json = JSON.parse(text) as { detail?: unknown; error?: { message?: unknown } | string; message?: unknown };
    const detail = json.detail ?? (typeof json.error === 'string' ? json.error : json.error?.message) ?? json.message;
    if (typeof detail === 'string') return detail;
  } catch {
    // not JSON
  }
  return text;
}
