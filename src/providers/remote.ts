/**
 * Builds the remote providers from their config: the protocol adapter, one
 * ProviderGate per configured provider (timeout, retries, Retry-After pause,
 * AIMD concurrency, rate limit, circuit breaker), and for embeddings the
 * batching decorator. Gates of the same base URL and key share one pause.
 * The API key is passed in by the composition root, which reads it only when
 * a provider is built.
 */
import type { EmbeddingConfig, VlmConfig } from '../config/types.js';
import type { Describer, Embedder, Log } from '../ports.js';
import { makeRedactor } from '../redact.js';
import { DEFAULT_BREAKER_THRESHOLD } from '../resilience/circuit-breaker.js';
import type { Clock } from '../resilience/clock.js';
import { ProviderGate } from '../resilience/provider-gate.js';
import type { ProviderPauses } from '../resilience/provider-pause.js';
import { BatchingEmbedder } from './embedding/batching-embedder.js';
import { JINA_DEFAULT_BASE_URL, JinaEmbedder } from './embedding/jina-embedder.js';
import {
  MODELSCOPE_DEFAULT_BASE_URL,
  OPENAI_DEFAULT_BASE_URL,
  OpenAIEmbedder,
} from './embedding/openai-embedder.js';
import { classifyFailure, identityLabel, type ProviderIdentity } from './remote-failure.js';
import { OpenAIDescriber } from './vlm/openai-describer.js';

export interface RemoteOptions {
  apiKey: string;
  /** ingest.retry_count */
  retries: number;
  /** ingest.probe_interval: while a provider is down, one request every this long checks on it. */
  probeIntervalMs: number;
  /** ingest.max_outage: how long a run waits for a provider that is down. */
  maxOutageMs: number;
  /** The run's Retry-After pauses, one per base URL and key. */
  pauses: ProviderPauses;
  /** The run's stop signal: waits for a provider end when it aborts. */
  stop?: AbortSignal;
  log?: Log;
  clock?: Clock;
}

interface Endpoint {
  identity: ProviderIdentity;
  baseURL: string;
  timeoutMs: number;
  concurrency: number;
  rpm?: number;
}

function gateFor(e: Endpoint, opts: RemoteOptions): ProviderGate {
  const redact = makeRedactor([opts.apiKey]);
  return new ProviderGate({
    label: identityLabel(e.identity),
    provider: e.identity.provider,
    ...(e.identity.keyEnv ? { keyEnv: e.identity.keyEnv } : {}),
    retries: opts.retries,
    timeoutMs: e.timeoutMs,
    concurrency: e.concurrency,
    ...(e.rpm !== undefined ? { rpm: e.rpm } : {}),
    pause: opts.pauses.for(e.baseURL, opts.apiKey),
    breakerThreshold: DEFAULT_BREAKER_THRESHOLD,
    probeIntervalMs: opts.probeIntervalMs,
    maxOutageMs: opts.maxOutageMs,
    redact,
    classify: (err, timedOutAfterMs) => classifyFailure(err, e.identity, redact, timedOutAfterMs),
    ...(opts.stop ? { stop: opts.stop } : {}),
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
}

export function createRemoteDescriber(vlm: VlmConfig, opts: RemoteOptions): Describer {
  const identity: ProviderIdentity = {
    what: `vlm "${vlm.provider}"`,
    provider: vlm.provider,
    model: vlm.model,
    ...(vlm.apiKeyEnv ? { keyEnv: vlm.apiKeyEnv } : {}),
  };
  const baseURL = vlm.baseUrl ?? OPENAI_DEFAULT_BASE_URL;
  const gate = gateFor({ identity, baseURL, timeoutMs: vlm.timeoutMs, concurrency: vlm.concurrency, rpm: vlm.rpm }, opts);
  return new OpenAIDescriber({
    model: vlm.model,
    baseURL,
    apiKey: opts.apiKey,
    gate,
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
  const fallback =
    e.provider === 'jina' ? JINA_DEFAULT_BASE_URL
    : e.provider === 'modelscope' ? MODELSCOPE_DEFAULT_BASE_URL
    : OPENAI_DEFAULT_BASE_URL;
  const baseURL = e.baseUrl ?? fallback;
  const gate = gateFor({ identity, baseURL, timeoutMs: e.timeoutMs, concurrency: e.concurrency, rpm: e.rpm }, opts);
  const common = { model: e.model, dimensions: e.dimensions, apiKey: opts.apiKey, gate, identity, baseURL, input: e.input };
  const inner =
    e.provider === 'jina' ? new JinaEmbedder({ ...common, redact: makeRedactor([opts.apiKey]) }) : new OpenAIEmbedder(common);
  return new BatchingEmbedder(inner, { batchSize: e.batchSize, label: identityLabel(identity) });
}
