/**
 * Providers are built on first use: a run whose every item is skipped never
 * loads the OCR models, and a keyword recall never loads the HTTP client
 * libraries. Their identity (model, prompt version, dimensions, the frames a
 * describer reads) is known up front, so dedup, frame preparation and start-up
 * logs need no provider.
 */
import type { Describer, DescribeInput, Description, EmbedInput, EmbedMode, Embedder } from '../ports.js';
import type { BreakerState } from '../resilience/circuit-breaker.js';

function once<T>(create: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= create().catch((err: unknown) => {
      pending = undefined; // a failed start may succeed on the next call
      throw err;
    });
    return pending;
  };
}

/** Builds the provider on first use; closes it only if it was ever built. */
abstract class Lazy<T extends { close?(): Promise<void> }> {
  protected readonly get: () => Promise<T>;
  /** The provider once built. */
  protected built?: T;
  private started = false;

  constructor(create: () => Promise<T>) {
    this.get = once(async () => {
      this.started = true;
      return (this.built = await create());
    });
  }

  /** Builds it now (loading its modules) without using it. */
  async ready(): Promise<void> {
    await this.get();
  }

  async close(): Promise<void> {
    if (this.started) await (await this.get()).close?.();
  }
}

export class LazyDescriber extends Lazy<Describer> implements Describer {
  constructor(
    readonly model: string,
    readonly promptVersion: string,
    create: () => Promise<Describer>,
    readonly maxFrames = 1,
  ) {
    super(create);
  }

  async describe(input: DescribeInput): Promise<Description> {
    return (await this.get()).describe(input);
  }
}

export class LazyEmbedder extends Lazy<Embedder> implements Embedder {
  constructor(
    readonly model: string,
    readonly dimensions: number,
    create: () => Promise<Embedder>,
    /** What the embedder will be, known from its config: its input, and whether it has a text side. */
    readonly input: EmbedInput = 'text',
    readonly embedsText = true,
  ) {
    super(create);
  }

  async embed(texts: string[], mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]> {
    return (await this.get()).embed(texts, mode, signal);
  }

  async embedImages(pictures: Buffer[], mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]> {
    const embedder = await this.get();
    if (!embedder.embedImages) throw new Error(`embedding model ${this.model} does not embed pictures`);
    return embedder.embedImages(pictures, mode, signal);
  }

  circuit(): BreakerState | undefined {
    return this.built?.circuit?.();
  }
}
