/**
 * What ingest learns about an image before spending anything on it: hash,
 * format, frame size and animation. Only the header is read, so a
 * decompression bomb is refused before a single pixel is decoded.
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { ImageFacts } from '../ports.js';
import { sniffFormat } from './format.js';
import { corrupt, tooManyPixels, unsupportedFormat } from './image-errors.js';

export interface ImageLimits {
  /** Largest accepted frame, in pixels (width x height). */
  maxPixels: number;
}

export async function probeImage(bytes: Buffer, limits: ImageLimits): Promise<ImageFacts> {
  // Sniff first: bytes we do not recognise (SVG above all) never reach sharp.
  const sniffed = sniffFormat(bytes);
  if ('unsupported' in sniffed) throw unsupportedFormat(sniffed.unsupported);

  let meta: sharp.Metadata;
  try {
    // metadata() parses the header only; no pixel data is decompressed. sharp
    // would apply its own default pixel limit here too (268 MP); switch it off
    // so that our limit, checked below, gives the one clear message.
    meta = await sharp(bytes, { failOn: 'error', limitInputPixels: false }).metadata();
  } catch (err) {
    throw corrupt('corrupt image', err);
  }
  // libvips also sniffs by content, so a disagreement means a damaged file.
  if (meta.format !== sniffed.format) {
    throw corrupt('corrupt image', `looks like ${sniffed.format} but decodes as ${meta.format}`);
  }

  const frames = meta.pages ?? 1;
  const width = meta.width;
  // With the default of one page loaded `height` is already one frame; pageHeight
  // is the authority when present (it is set whenever frames are stacked).
  const height = meta.pageHeight ?? meta.height;
  if (!(width > 0 && height > 0)) throw corrupt('corrupt image', 'no image dimensions in the header');
  if (width * height > limits.maxPixels) throw tooManyPixels(width, height, limits.maxPixels);

  return {
    md5: createHash('md5').update(bytes).digest('hex'),
    format: sniffed.format,
    ext: sniffed.ext,
    width,
    height,
    frames,
    isAnimated: frames > 1,
    fileSize: bytes.length,
  };
}
