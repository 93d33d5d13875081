/**
 * A workspace whose config points the VLM and one embedding at a fake
 * OpenAI-compatible server, with the API keys in an env object (never in
 * process.env), plus the counts tests check afterwards.
 */
import { libraryCounts } from './library.js';
import type { FakeOpenAI } from './fake-openai-server.js';
import { makeWorkspace, type Workspace } from './workspace.js';

export const VLM_KEY_ENV = 'EMOMO_TEST_VLM_KEY';
export const EMBED_KEY_ENV = 'EMOMO_TEST_EMBED_KEY';

export interface RemoteWorkspaceOptions {
  provider?: 'jina' | 'openai' | 'modelscope';
  model?: string;
  dims?: number;
  batchSize?: number;
  workers?: number;
  vlmConcurrency?: number;
  retryCount?: number;
  vlmTimeout?: string;
  /** `image`: a multimodal model whose collection holds picture vectors. */
  input?: 'text' | 'image';
  /** vlm.animated_frames (default: the config default). */
  animatedFrames?: 'multi' | 'contact_sheet' | 'first';
  /** ingest.probe_interval and ingest.max_outage. */
  probeInterval?: string;
  maxOutage?: string;
}

export function makeRemoteWorkspace(fake: Pick<FakeOpenAI, 'url' | 'baseURL'>, o: RemoteWorkspaceOptions = {}): Workspace {
  const provider = o.provider ?? 'jina';
  const model = o.model ?? (provider === 'jina' ? 'jina-embeddings-v3' : 'Qwen/Qwen3-Embedding-8B');
  const embeddings =
    `embeddings:\n  - name: remote\n    provider: ${provider}\n    model: ${model}\n` +
    `    base_url: ${provider === 'jina' ? fake.url : fake.baseURL}\n    api_key_env: ${EMBED_KEY_ENV}\n` +
    `    dimensions: ${o.dims ?? 64}\n    collection: remote\n    batch_size: ${o.batchSize ?? 32}\n` +
    (o.input ? `    input: ${o.input}\n` : '');
  const extra =
    `vlm:\n  provider: openai\n  model: fake-vlm\n  base_url: ${fake.baseURL}\n  api_key_env: ${VLM_KEY_ENV}\n` +
    `  timeout: ${o.vlmTimeout ?? '5s'}\n  concurrency: ${o.vlmConcurrency ?? o.workers ?? 8}\n` +
    (o.animatedFrames ? `  animated_frames: ${o.animatedFrames}\n` : '') +
    `ingest:\n  workers: ${o.workers ?? 8}\n  retry_count: ${o.retryCount ?? 3}\n` +
    (o.probeInterval ? `  probe_interval: ${o.probeInterval}\n` : '') +
    (o.maxOutage ? `  max_outage: ${o.maxOutage}\n` : '');
  return makeWorkspace(extra, embeddings);
}

export function keyEnv(vlmKey: string, embedKey = vlmKey): NodeJS.ProcessEnv {
  return { [VLM_KEY_ENV]: vlmKey, [EMBED_KEY_ENV]: embedKey };
}

export function tableCounts(ws: Workspace): { memes: number; vectors: number; descriptions: number; jobs: number } {
  return libraryCounts(ws, ['memes', 'vectors', 'descriptions', 'jobs']);
}
