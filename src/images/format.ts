/**
 * Image format detection from magic bytes. File names and extensions lie
 * (a staging folder full of `.jpg` files may hold PNG, WebP or HTML error
 * pages), so the bytes are the only evidence we trust. Anything that is not
 * positively one of the four meme formats is refused, which also keeps SVG
 * (it can reference external files) away from the decoder.
 */
import type { ImageFormat } from '../ports.js';

export type SniffResult = { format: ImageFormat; ext: string } | { unsupported: string };

const CONTENT_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
};

/** ISO-BMFF brands (the `ftyp` box) used by AVIF and HEIF/HEIC files. */
const HEIF_BRANDS = new Set(['avif', 'avis', 'heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

/** How many leading bytes of a text file are searched for `<svg` / `<html`. */
const TEXT_WINDOW = 1024;

function startsWith(head: Buffer, bytes: readonly number[], offset = 0): boolean {
  if (head.length < offset + bytes.length) return false;
  return bytes.every((b, i) => head[offset + i] === b);
}

function ascii(head: Buffer, start: number, end: number): string {
  return head.subarray(start, end).toString('latin1');
}

/**
 * Detects the format of an image from its first bytes (pass at least 32;
 * the whole file is fine). Never looks at a file name.
 */
export function sniffFormat(head: Buffer): SniffResult {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { format: 'jpeg', ext: 'jpg' };
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { format: 'png', ext: 'png' };
  const six = ascii(head, 0, 6);
  if (six === 'GIF87a' || six === 'GIF89a') return { format: 'gif', ext: 'gif' };
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return { format: 'webp', ext: 'webp' };
  return { unsupported: nameUnsupported(head) };
}

export function contentTypeFor(format: ImageFormat): string {
  return CONTENT_TYPES[format];
}

/** A human name for the error message; only cosmetic, the refusal is already decided. */
function nameUnsupported(head: Buffer): string {
  const four = ascii(head, 0, 4);
  if (four === 'II*\0' || four === 'MM\0*' || four === 'II+\0' || four === 'MM\0+') return 'TIFF';
  // JPEG 2000: a bare codestream (SOC + SIZ markers) or the JP2 signature box.
  if (startsWith(head, [0xff, 0x4f, 0xff, 0x51])) return 'JPEG 2000';
  if (startsWith(head, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a])) return 'JPEG 2000';
  if (ascii(head, 4, 8) === 'ftyp' && HEIF_BRANDS.has(ascii(head, 8, 12))) return 'AVIF/HEIF';
  if (ascii(head, 0, 2) === 'BM') return 'BMP';
  if (startsWith(head, [0x00, 0x00, 0x01, 0x00])) return 'ICO';
  if (four === '%PDF') return 'PDF';
  return nameMarkup(head) ?? 'unknown';
}

/** SVG and HTML are text: skip a BOM and whitespace, then look for their root element. */
function nameMarkup(head: Buffer): string | undefined {
  const text = head.subarray(0, TEXT_WINDOW).toString('utf8').replace(/^\uFEFF/, '').trimStart().toLowerCase();
  if (!text.startsWith('<')) return undefined;
  // An SVG may start with an XML prolog, comments or a DOCTYPE before <svg.
  if (/<svg[\s>]/.test(text)) return 'SVG';
  if (text.startsWith('<!doctype html') || /<(html|head|body)[\s>]/.test(text)) return 'HTML';
  return undefined;
}
