/**
 * The offline describer: reads the caption off the image with PaddleOCR (see
 * ocr/engine.ts) and composes a description from it plus the source's
 * category and tags. No key, no network; it cannot say what the picture
 * shows, only what it says.
 *
 * OCR runs in worker threads (ocr/pool.ts); the frames of an animated meme
 * are read in parallel and their captions merged, every distinct line once
 * (caption-merge.ts).
 */
import { availableParallelism } from 'node:os';
import type { DescribeInput, Describer, Description } from '../../ports.js';
import { mergeFrameCaptions } from './caption-merge.js';
import { captionLines, composeDescription, localDescriberId } from './local-description.js';
import { OcrPool } from './ocr/pool.js';

/**
 * Lines read below this mean confidence are dropped. The engine itself drops
 * text below 0.5. Measured: every caption of staging/sample read correctly
 * at 0.90 or more (median 0.998), while characters "read" off a dotted
 * pattern scored 0.51-0.60 (and one 0.98, which no threshold can catch).
 */
export const DEFAULT_MIN_CONFIDENCE = 0.7;

export interface LocalDescriberOptions {
  minConfidence?: number;
  /** Longest side of the image the text detector sees (default 512). */
  maxSide?: number;
  /** Frames of an animation read (default 1: the first frame only). */
  maxFrames?: number;
  /** OCR worker threads (default `defaultOcrThreads()`). */
  workers?: number;
}

/**
 * One OCR thread per core but one, at most 4. The main thread is a core's
 * worth of work of its own (decoding, choosing frames, the database). On two
 * cores a second OCR thread read the real memes about 25% faster but cost
 * about 50 MB more (BENCHMARKS.md): `vlm.ocr_threads: 2` when memory allows.
 */
export function defaultOcrThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}


export class LocalDescriber implements Describer {
  readonly model: string;
  readonly promptVersion: string;
  private closed = false;

  private constructor(
    private readonly pool: OcrPool,
    private readonly minConfidence: number,
    readonly maxFrames: number,
  ) {
    ({ model: this.model, promptVersion: this.promptVersion } = localDescriberId(maxFrames));
  }

  /** Starts the OCR workers and loads their models (a few tenths of a second, in parallel). */
  static async create(opts: LocalDescriberOptions = {}): Promise<LocalDescriber> {
    const minConfidence = opts.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
    if (!(minConfidence >= 0 && minConfidence <= 1)) {
      throw new RangeError(`LocalDescriber: minConfidence must be between 0 and 1, got ${minConfidence}`);
    }
    const maxFrames = opts.maxFrames ?? 1;
    if (!Number.isInteger(maxFrames) || maxFrames < 1) {
      throw new RangeError(`LocalDescriber: maxFrames must be a positive integer, got ${maxFrames}`);
    }
    const pool = await OcrPool.start({ size: opts.workers ?? defaultOcrThreads(), ...(opts.maxSide ? { maxSide: opts.maxSide } : {}) });
    return new LocalDescriber(pool, minConfidence, maxFrames);
  }

  async describe(input: DescribeInput): Promise<Description> {
    if (this.closed) throw new Error('LocalDescriber is closed');
    input.signal?.throwIfAborted();
    const frames = await Promise.all(input.frames.map((jpeg) => this.pool.read(jpeg, input.signal)));
    const ocrText = mergeFrameCaptions(frames.map((lines) => captionLines(lines, this.minConfidence)));
    return { ocrText, ...composeDescription({ category: input.category, tags: input.tags, ocrText }) };
  }

  /** Waits for queued OCR calls to finish; later calls are refused. */
  async close(): Promise<void> {
    this.closed = true;
    await this.pool.close();
  }
}
