/**
 * The permanent `decode` failures shared by probe and VLM-input preparation.
 * They are permanent because the bytes are already in memory: retrying the
 * same bytes later gives the same answer.
 */
import { ItemError, errorMessage } from '../errors.js';

export function unsupportedFormat(name: string): ItemError {
  return new ItemError('decode', `unsupported format: ${name} (only JPEG, PNG, GIF and WebP are accepted)`, true);
}

export function tooManyPixels(width: number, height: number, maxPixels: number): ItemError {
  const mp = (n: number) => (n / 1e6).toFixed(1);
  return new ItemError(
    'decode',
    `image is ${width}x${height} = ${mp(width * height)} megapixels, above the limit of ${mp(maxPixels)} megapixels`,
    true,
  );
}

/** Wraps a decoder failure; libvips messages can span lines, keep them on one. */
export function corrupt(prefix: string, cause: unknown): ItemError {
  const reason = errorMessage(cause).replace(/\s*\n\s*/g, '; ').trim();
  return new ItemError('decode', `${prefix}: ${reason}`, true, { cause });
}
