/**
 * The describer is built on first use: a run whose every item is skipped never
 * loads the OCR models. Its identity (model, prompt version) and the frames it
 * reads are known up front, so dedup and frame preparation need no describer. (Embedders are cheap to build: remote ones open
 * no connection until their first request, the local one is pure code.)
 */
import type { Describer, DescribeInput, Description } from '../ports.js';

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

export class LazyDescriber implements Describer {
  private readonly get: () => Promise<Describer>;
  private started = false;

  constructor(
    readonly model: string,
    readonly promptVersion: string,
    create: () => Promise<Describer>,
    readonly maxFrames = 1,
  ) {
    this.get = once(() => ((this.started = true), create()));
  }

  async describe(input: DescribeInput): Promise<Description> {
    return (await this.get()).describe(input);
  }

  async close(): Promise<void> {
    if (this.started) await (await this.get()).close?.();
  }
}
