/**
 * In-process fakes of the Describer and Embedder ports for pipeline tests:
 * deterministic, counting every call, failing on demand. Remote protocols are
 * tested against real HTTP servers elsewhere; these stand in for the port only.
 */
import { createHash } from 'node:crypto';
import type { Describer, DescribeInput, Description, Embedder, EmbedMode } from '../../src/ports.js';

export class FakeDescriber implements Describer {
  readonly model = 'fake-vlm';
  readonly promptVersion = 'fake-1';
  calls = 0;
  /** Throw for inputs whose category or tags contain this text. */
  failWhen?: (input: DescribeInput) => boolean;

  async describe(input: DescribeInput): Promise<Description> {
    this.calls++;
    if (this.failWhen?.(input)) throw new Error('fake describer refused this image');
    const digest = createHash('md5').update(Buffer.concat(input.frames)).digest('hex').slice(0, 8);
    return {
      ocrText: `文字${digest}`,
      description: `${input.category} 表情包 ${input.tags.join(' ')}`,
      emotions: [],
      usage: { promptTokens: 100, completionTokens: 20 },
    };
  }
}

export class FakeEmbedder implements Embedder {
  readonly model = 'fake-embed';
  calls = 0;
  texts = 0;
  failWhen?: (text: string) => boolean;
  /** Return vectors of the wrong size (to test the dimension check). */
  wrongDims = false;

  constructor(readonly dimensions = 8) {}

  async embed(texts: string[], _mode: EmbedMode): Promise<Float32Array[]> {
    this.calls++;
    this.texts += texts.length;
    return texts.map((text) => {
      if (this.failWhen?.(text)) throw new Error('fake embedder refused this text');
      const hash = createHash('sha256').update(text).digest();
      const v = new Float32Array(this.wrongDims ? this.dimensions + 1 : this.dimensions);
      for (let i = 0; i < v.length; i++) v[i] = (hash[i % hash.length]! - 127.5) / 127.5;
      const norm = Math.hypot(...v);
      return v.map((x) => x / norm);
    });
  }
}
