/**
 * Gathers the texts that concurrent ingest workers want embedded into
 * requests of up to `batchSize` texts: a request goes out when it is full or
 * `windowMs` after its first text arrived, and each caller gets back exactly
 * its own vectors. A failed request fails only the callers it carried; a bad
 * vector (wrong length, NaN) fails only the caller it belongs to.
 * Queries (recall) are not held back: they go out at once.
 */
import { ProviderError, errorMessage } from '../../errors.js';
import { checkVector } from '../../pipeline/vector-check.js';
import type { Embedder, EmbedMode } from '../../ports.js';
import type { BreakerState } from '../../resilience/circuit-breaker.js';

export interface BatchingOptions {
  batchSize: number;
  /** How long the first text of a batch waits for company. */
  windowMs?: number;
  /** For messages, e.g. `embedding "jina" (model jina-embeddings-v3)`. */
  label: string;
}

/**
 * Describe lanes release items one by one, not in waves, so texts trickle in
 * at the VLM's pace (32 lanes at 2 s a call: one text every ~60 ms). Waiting
 * up to half a second gathers about 8 of them per request at that pace, and
 * costs nothing in throughput: the wait overlaps the next describe calls.
 */
export const DEFAULT_BATCH_WINDOW_MS = 500;

interface Caller {
  texts: string[];
  resolve(vectors: Float32Array[]): void;
  reject(err: unknown): void;
}

interface Batch {
  callers: Caller[];
  size: number;
  timer: NodeJS.Timeout;
}

export class BatchingEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;
  private open?: Batch;
  private readonly windowMs: number;

  constructor(
    private readonly inner: Embedder,
    private readonly opts: BatchingOptions,
  ) {
    this.model = inner.model;
    this.dimensions = inner.dimensions;
    this.windowMs = opts.windowMs ?? DEFAULT_BATCH_WINDOW_MS;
  }

  embed(texts: string[], mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]> {
    if (texts.length === 0) return Promise.resolve([]);
    if (mode === 'query' || texts.length >= this.opts.batchSize) return this.direct(texts, mode, signal);
    return new Promise<Float32Array[]>((resolve, reject) => {
      if (this.open && this.open.size + texts.length > this.opts.batchSize) this.flush();
      const batch = (this.open ??= { callers: [], size: 0, timer: setTimeout(() => this.flush(), this.windowMs) });
      batch.callers.push({ texts, resolve, reject });
      batch.size += texts.length;
      if (batch.size >= this.opts.batchSize) this.flush();
    });
  }

  circuit(): BreakerState | undefined {
    return this.inner.circuit?.();
  }

  async close(): Promise<void> {
    if (this.open) this.flush();
    await this.inner.close?.();
  }

  /** Large calls (an `embed` backfill batch) are split into requests of batchSize, in order. */
  private async direct(texts: string[], mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.opts.batchSize) {
      const chunk = texts.slice(i, i + this.opts.batchSize);
      const vectors = await this.inner.embed(chunk, mode, signal);
      out.push(...this.checked(vectors, chunk.length));
    }
    return out;
  }

  private flush(): void {
    const batch = this.open;
    if (!batch) return;
    this.open = undefined;
    clearTimeout(batch.timer);
    const all = batch.callers.flatMap((c) => c.texts);
    this.inner.embed(all, 'document').then(
      (vectors) => {
        let offset = 0;
        for (const caller of batch.callers) {
          const mine = vectors.slice(offset, offset + caller.texts.length);
          offset += caller.texts.length;
          try {
            caller.resolve(this.checked(mine, caller.texts.length));
          } catch (err) {
            caller.reject(err);
          }
        }
      },
      (err: unknown) => {
        for (const caller of batch.callers) caller.reject(err);
      },
    );
  }

  private checked(vectors: Float32Array[], expected: number): Float32Array[] {
    if (vectors.length !== expected) {
      throw new ProviderError(this.model, `${this.opts.label}: ${vectors.length} vectors for ${expected} texts`);
    }
    for (const vector of vectors) {
      try {
        checkVector(vector, this.dimensions, this.model);
      } catch (err) {
        throw new ProviderError(this.model, `${this.opts.label}: ${errorMessage(err)}`);
      }
    }
    return vectors;
  }
}
