/**
 * Builds the remote providers from their config: the protocol adapter, one
 * CallGuard (timeout, retries, rate limit, concurrency, circuit breaker) per
 * provider, and for embeddings the batching decorator. The API key is passed
 * in by the composition root, which reads it only when a provider is built.
 */
import type { EmbeddingConfig, VlmConfig } from '../config/types.js';
import type { Describer, Embedder } from '../ports.js';
import { makeRedactor } from '../redact.js';
import { BatchingEmbedder } from './embedding/batching-embedder.js';
import { JINA_DEFAULT_BASE_URL, JinaEmbedder } from './embedding/jina-embedder.js';
import {
  MODELSCOPE_DEFAULT_BASE_URL,
  OPENAI_DEFAULT_BASE_URL,
  OpenAIEmbedder,
} from './embedding/openai-embedder.js';
import { CallGuard } from './resilience/call-guard.js';
import { identityLabel, type ProviderIdentity } from './resilience/remote-failure.js';
import { OpenAIDescriber } from './vlm/openai-describer.js';

/** No embeddings timeout key exists: a batch of 32 short texts answers in well under this. */
export const EMBEDDING_TIMEOUT_MS = 30_000;
/** Embedding requests in flight at once per provider (each carries up to batch_size texts). */
export const EMBEDDING_CONCURRENCY = 4;

export interface RemoteOptions {
  apiKey: string;
  /** ingest.retry_count */
  retries: number;
}

export function createRemoteDescriber(vlm: VlmConfig, opts: RemoteOptions): Describer {
  const identity: ProviderIdentity = {
    what: `vlm "${vlm.provider}"`,
    provider: vlm.provider,
    model: vlm.model,
    ...(vlm.apiKeyEnv ? { keyEnv: vlm.apiKeyEnv } : {}),
  };
  const guard = new CallGuard({
    identity,
    retries: opts.retries,
    timeoutMs: vlm.timeoutMs,
    concurrency: vlm.concurrency,
    ...(vlm.rpm !== undefined ? { rpm: vlm.rpm } : {}),
    redact: makeRedactor([opts.apiKey]),
  });
  return new OpenAIDescriber({
    model: vlm.model,
    baseURL: vlm.baseUrl ?? OPENAI_DEFAULT_BASE_URL,
    apiKey: opts.apiKey,
    guard,
    animatedFrames: vlm.animatedFrames,
    maxFrames: vlm.maxFrames,
    maxSide: vlm.maxSide,
  });
}

export function createRemoteEmbedder(e: EmbeddingConfig, opts: RemoteOptions): Embedder {
  const identity: ProviderIdentity = {
    what: `embedding "${e.name}"`,
    provider: e.provider,
    model: e.model,
    ...(e.apiKeyEnv ? { keyEnv: e.apiKeyEnv } : {}),
  };
  const redact = makeRedactor([opts.apiKey]);
  const guard = new CallGuard({
    identity,
    retries: opts.retries,
    timeoutMs: EMBEDDING_TIMEOUT_MS,
    concurrency: EMBEDDING_CONCURRENCY,
    ...(e.rpm !== undefined ? { rpm: e.rpm } : {}),
    redact,
  });
  const common = { model: e.model, dimensions: e.dimensions, apiKey: opts.apiKey, guard };
  let inner: Embedder;
  if (e.provider === 'jina') {
    inner = new JinaEmbedder({ ...common, baseURL: e.baseUrl ?? JINA_DEFAULT_BASE_URL, redact });
  } else {
    const fallback = e.provider === 'modelscope' ? MODELSCOPE_DEFAULT_BASE_URL : OPENAI_DEFAULT_BASE_URL;
    inner = new OpenAIEmbedder({ ...common, baseURL: e.baseUrl ?? fallback });
  }
  return new BatchingEmbedder(inner, { batchSize: e.batchSize, label: identityLabel(identity) });
}
