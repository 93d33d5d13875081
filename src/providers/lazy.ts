/**
 * Providers are built on first use: a run whose every item is skipped never
 * loads the OCR models, and a keyword recall never loads the HTTP client
 * libraries. Their identity (model, prompt version, dimensions) is known up
 * front, so dedup and start-up logs need no provider.
 */
import type { Describer, DescribeInput, Description, EmbedInput, EmbedMode, Embedder } from '../ports.js';

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
  private started = false;

  constructor(create: () => Promise<T>) {
    this.get = once(() => ((this.started = true), create()));
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
}
