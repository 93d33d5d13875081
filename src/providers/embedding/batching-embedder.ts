/**
 * Gathers what concurrent ingest workers want embedded into requests of up
 * to `batchSize` inputs (texts, or pictures for an image model): a request
 * goes out when it is full or `windowMs` after its first input arrived, and
 * each caller gets back exactly its own vectors. A failed request fails only
 * the callers it carried; a bad vector (wrong length, NaN) fails only the
 * caller it belongs to. Queries (recall) are not held back: they go out at once.
 */
import { ProviderError, errorMessage } from '../../errors.js';
import { checkVector } from '../../pipeline/vector-check.js';
import type { EmbedInput, Embedder, EmbedMode } from '../../ports.js';
import type { BreakerState } from '../../resilience/circuit-breaker.js';

export interface BatchingOptions {
  batchSize: number;
  /** How long the first input of a batch waits for company. */
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

type Kind = 'text' | 'image';
type Input = string | Buffer;

interface Caller {
  inputs: Input[];
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
  readonly input?: EmbedInput;
  readonly embedsText?: boolean;
  private readonly open: Partial<Record<Kind, Batch>> = {};
  private readonly windowMs: number;

  constructor(
    private readonly inner: Embedder,
    private readonly opts: BatchingOptions,
  ) {
    this.model = inner.model;
    this.dimensions = inner.dimensions;
    if (inner.input) this.input = inner.input;
    if (inner.embedsText !== undefined) this.embedsText = inner.embedsText;
    this.windowMs = opts.windowMs ?? DEFAULT_BATCH_WINDOW_MS;
  }

  embed(texts: string[], mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]> {
    return this.queue('text', texts, mode, signal);
  }

  embedImages(pictures: Buffer[], mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]> {
    return this.queue('image', pictures, mode, signal);
  }

  circuit(): BreakerState | undefined {
    return this.inner.circuit?.();
  }

  async close(): Promise<void> {
    this.flush('text');
    this.flush('image');
    await this.inner.close?.();
  }

  private queue(kind: Kind, inputs: Input[], mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]> {
    if (inputs.length === 0) return Promise.resolve([]);
    if (mode === 'query' || inputs.length >= this.opts.batchSize) return this.direct(kind, inputs, mode, signal);
    return new Promise<Float32Array[]>((resolve, reject) => {
      const open = this.open[kind];
      if (open && open.size + inputs.length > this.opts.batchSize) this.flush(kind);
      const batch = (this.open[kind] ??= { callers: [], size: 0, timer: setTimeout(() => this.flush(kind), this.windowMs) });
      batch.callers.push({ inputs, resolve, reject });
      batch.size += inputs.length;
      if (batch.size >= this.opts.batchSize) this.flush(kind);
    });
  }

  private send(kind: Kind, inputs: Input[], mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]> {
    if (kind === 'text') return this.inner.embed(inputs as string[], mode, signal);
    if (!this.inner.embedImages) return Promise.reject(new ProviderError(this.model, `${this.opts.label}: this model does not embed pictures`));
    return this.inner.embedImages(inputs as Buffer[], mode, signal);
  }

  /** Large calls (an `embed` backfill batch) are split into requests of batchSize, in order. */
  private async direct(kind: Kind, inputs: Input[], mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < inputs.length; i += this.opts.batchSize) {
      const chunk = inputs.slice(i, i + this.opts.batchSize);
      const vectors = await this.send(kind, chunk, mode, signal);
      out.push(...this.checked(vectors, chunk.length));
    }
    return out;
  }

  private flush(kind: Kind): void {
    const batch = this.open[kind];
    if (!batch) return;
    delete this.open[kind];
    clearTimeout(batch.timer);
    const all = batch.callers.flatMap((c) => c.inputs);
    this.send(kind, all, 'document').then(
      (vectors) => {
        let offset = 0;
        for (const caller of batch.callers) {
          const mine = vectors.slice(offset, offset + caller.inputs.length);
          offset += caller.inputs.length;
          try {
            caller.resolve(this.checked(mine, caller.inputs.length));
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
      throw new ProviderError(this.model, `${this.opts.label}: ${vectors.length} vectors for ${expected} inputs`);
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
