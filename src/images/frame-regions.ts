/**
 * What the picture comparisons look at: the first frame, upright, sRGB,
 * flattened on white, reduced to 32×32 RGB twice: the whole frame, and its
 * picture zone (the frame without the top 10% and the bottom 30%, where
 * captions and watermarks sit). A template variant (the same picture with
 * another line of text) keeps its picture zone; a duplicate keeps both.
 * Decodes pixels: callers check the pixel limit first (probeImage), and
 * sharp checks it again.
 */
import { DCT_SIDE } from './dct.js';
import { corrupt } from './image-errors.js';
import type { ImageLimits } from './probe.js';

/** Share of the frame's height left out of the picture zone, above and below. */
export const CAPTION_TOP = 0.1;
export const CAPTION_BOTTOM = 0.3;
/** The frame is first reduced to at most this side (cheap: JPEG shrink-on-load), then cut. */
const WORKING_SIDE = 256;

export interface FrameRegions {
  /** 32×32 RGB, row-major, 3 bytes a pixel. */
  whole: Uint8Array;
  picture: Uint8Array;
  /** Height over width of the frame, upright. */
  aspect: number;
}

export async function frameRegions(bytes: Buffer, limits: ImageLimits): Promise<FrameRegions> {
  // Loaded on first use: recall imports this module's neighbours (phash, similarity) and must start without sharp.
  const { default: sharp } = await import('sharp');
  try {
    const { data, info } = await sharp(bytes, { failOn: 'error', limitInputPixels: Math.max(1, Math.floor(limits.maxPixels)), pages: 1 })
      .autoOrient()
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb')
      .resize(WORKING_SIDE, WORKING_SIDE, { fit: 'inside', withoutEnlargement: true })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const raw = () => sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } });
    const top = Math.round(info.height * CAPTION_TOP);
    const zone = Math.max(1, info.height - top - Math.round(info.height * CAPTION_BOTTOM));
    const [whole, picture] = await Promise.all([
      raw().resize(DCT_SIDE, DCT_SIDE, { fit: 'fill' }).raw().toBuffer(),
      raw().extract({ left: 0, top, width: info.width, height: zone }).resize(DCT_SIDE, DCT_SIDE, { fit: 'fill' }).raw().toBuffer(),
    ]);
    return { whole: new Uint8Array(whole), picture: new Uint8Array(picture), aspect: info.height / info.width };
  } catch (err) {
    throw corrupt('corrupt or truncated image', err); // the reason the describer's decode gives (vlm-input.ts)
  }
}

/** Luminance (Rec. 601) of 32×32 RGB. */
export function luminance(rgb: Uint8Array): Float64Array {
  const out = new Float64Array(rgb.length / 3);
  for (let i = 0; i < out.length; i++) out[i] = 0.299 * rgb[i * 3]! + 0.587 * rgb[i * 3 + 1]! + 0.114 * rgb[i * 3 + 2]!;
  return out;
}
