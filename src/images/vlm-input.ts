/**
 * The pictures a describer sees: upright, sRGB, opaque JPEGs no larger than
 * `maxSide`: one for a still, the representative frames of an animation in
 * playing order (see frames.ts). This is the only place that decodes pixels
 * for a describer, so it is also where truncated and corrupt files are caught.
 */
import sharp from 'sharp';
import { ItemError, errorMessage } from '../errors.js';
import type { ImageFacts } from '../ports.js';
import { sniffFormat } from './format.js';
import { chooseFrames } from './frames.js';
import { corrupt, tooManyPixels, unsupportedFormat } from './image-errors.js';
import { probeImage, type ImageLimits } from './probe.js';

// Every image is decoded once and never again, so libvips' operation cache
// would only hold memory (up to 50 MB by default) without ever being hit.
sharp.cache(false);

const WHITE = { r: 255, g: 255, b: 255 };

export interface VlmInputOptions {
  /** Longest side of each JPEG (default 768). */
  maxSide?: number;
  /** At most this many frames of an animation (default 1: the first frame only). */
  maxFrames?: number;
}

/** The describer's input: one JPEG per chosen frame, in playing order, the first frame first. */
export async function prepareVlmFrames(bytes: Buffer, facts: ImageFacts, limits: ImageLimits, options: VlmInputOptions = {}): Promise<Buffer[]> {
  checkDecodable(bytes, facts, limits);
  const pages = await chooseFrames(bytes, facts, limits, options.maxFrames ?? 1);
  const frames: Buffer[] = [];
  // One at a time: each frame holds a full decode of the animation up to it.
  for (const page of pages) frames.push(await renderFrame(bytes, limits, options.maxSide ?? 768, page));
  return frames;
}

/**
 * Callers normally probe first; checking again keeps this module safe on
 * its own (an SVG must never reach the decoder, a bomb must never be decoded).
 */
function checkDecodable(bytes: Buffer, facts: ImageFacts, limits: ImageLimits): void {
  const sniffed = sniffFormat(bytes);
  if ('unsupported' in sniffed) throw unsupportedFormat(sniffed.unsupported);
  if (facts.width * facts.height > limits.maxPixels) throw tooManyPixels(facts.width, facts.height, limits.maxPixels);
}

/** Frame `page` alone, as a describer sees it. Call only on bytes already checked (see checkDecodable). */
export async function renderFrame(bytes: Buffer, limits: ImageLimits, maxSide: number, page: number): Promise<Buffer> {
  try {
    return await sharp(bytes, {
      // 'error' aborts on truncation and real decode errors. The default,
      // 'warning', also rejects JPEGs that every viewer shows (e.g. the
      // "Invalid SOS parameters" files some phones write).
      failOn: 'error',
      // sharp re-checks the header's size itself, in case `facts` is stale.
      limitInputPixels: Math.max(1, Math.floor(limits.maxPixels)),
      sequentialRead: true,
      page,
      pages: 1,
    })
      .autoOrient()
      .flatten({ background: WHITE })
      .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb') // CMYK and greyscale included; JPEG output is 8-bit
      .jpeg({ quality: 85 })
      .toBuffer();
  } catch (err) {
    if (/exceeds pixel limit/i.test(errorMessage(err))) {
      const mp = (limits.maxPixels / 1e6).toFixed(1);
      throw new ItemError('decode', `image is above the limit of ${mp} megapixels`, true, { cause: err });
    }
    throw corrupt('corrupt or truncated image', err);
  }
}

/** The same still from a file's bytes alone (a stored object, a query image): probed first, so every check applies. */
export async function stillFromFile(bytes: Buffer, limits: ImageLimits, maxSide = 768): Promise<Buffer> {
  return prepareStill(bytes, await probeImage(bytes, limits), limits, maxSide);
}

/** The first frame alone, as a describer sees it: what picture hashes and image embeddings are made from. */
export async function prepareStill(bytes: Buffer, facts: ImageFacts, limits: ImageLimits, maxSide = 768): Promise<Buffer> {
  const [first] = await prepareVlmFrames(bytes, facts, limits, { maxSide, maxFrames: 1 });
  return first!;
}
