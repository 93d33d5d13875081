/**
 * The picture a describer sees: one still, upright, sRGB, opaque JPEG no
 * larger than `maxSide`. This is the only place that decodes pixels, so it
 * is also where truncated and corrupt files are caught.
 */
import sharp from 'sharp';
import { ItemError, errorMessage } from '../errors.js';
import type { ImageFacts } from '../ports.js';
import { sniffFormat } from './format.js';
import { corrupt, tooManyPixels, unsupportedFormat } from './image-errors.js';
import { probeImage, type ImageLimits } from './probe.js';

// Every image is decoded once and never again, so libvips' operation cache
// would only hold memory (up to 50 MB by default) without ever being hit.
sharp.cache(false);

const WHITE = { r: 255, g: 255, b: 255 };

export async function prepareVlmInput(
  bytes: Buffer,
  facts: ImageFacts,
  limits: ImageLimits,
  maxSide = 768,
): Promise<Buffer> {
  // Callers normally probe first; checking again keeps this function safe on
  // its own (an SVG must never reach the decoder, a bomb must never be decoded).
  const sniffed = sniffFormat(bytes);
  if ('unsupported' in sniffed) throw unsupportedFormat(sniffed.unsupported);
  if (facts.width * facts.height > limits.maxPixels) throw tooManyPixels(facts.width, facts.height, limits.maxPixels);

  try {
    return await sharp(bytes, {
      // 'error' aborts on truncation and real decode errors. The default,
      // 'warning', also rejects JPEGs that every viewer shows (e.g. the
      // "Invalid SOS parameters" files some phones write).
      failOn: 'error',
      // sharp re-checks the header's size itself, in case `facts` is stale.
      limitInputPixels: Math.max(1, Math.floor(limits.maxPixels)),
      sequentialRead: true,
      pages: 1, // first frame only: the describer gets a still
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
  return prepareVlmInput(bytes, await probeImage(bytes, limits), limits, maxSide);
}
