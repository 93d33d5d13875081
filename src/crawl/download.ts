/**
 * One image from URL to a verified temporary file in images/. The first
 * bytes decide: anything that is not JPEG, PNG, GIF or WebP (an HTML error
 * page served as `x.jpg`, say) is refused and the transfer cut off at once.
 * The finished file is then probed like ingest does (header only), which
 * also tells whether it is animated.
 */
import { promises as fs } from 'node:fs';
import { errorMessage } from '../errors.js';
import { sniffFormat } from '../images/format.js';
import { probeImage } from '../images/probe.js';
import { FetchFailure, type HttpClient } from './http-client.js';
import type { StagingWriter } from './staging-writer.js';

/** Enough bytes for every signature sniffFormat knows (and to name HTML). */
const SNIFF_BYTES = 64;

export interface DownloadedImage {
  temp: string;
  format: string;
  ext: string;
  bytes: number;
  isAnimated: boolean;
}

export interface DownloadLimits {
  maxBytes: number;
  maxPixels: number;
}

export async function downloadImage(
  client: HttpClient,
  writer: StagingWriter,
  id: string,
  url: string,
  limits: DownloadLimits,
): Promise<DownloadedImage> {
  // Each attempt (retries included) writes its own temporary file and removes it when it fails.
  const { temp, bytes } = await client.get(url, limits.maxBytes, async (chunks) => {
    const temp = writer.tempPath(id);
    const file = await fs.open(temp, 'wx');
    let bytes = 0;
    let head: Buffer | undefined = Buffer.alloc(0);
    try {
      for await (const chunk of chunks) {
        if (head) {
          head = Buffer.concat([head, chunk]);
          if (head.length >= SNIFF_BYTES) {
            checkSignature(head);
            head = undefined;
          }
        }
        await file.write(chunk);
        bytes += chunk.byteLength;
      }
      if (head) checkSignature(head);
      await file.close();
      return { temp, bytes };
    } catch (err) {
      await file.close().catch(() => undefined);
      await writer.discard(temp);
      throw err;
    }
  });
  try {
    const facts = await probeImage(await fs.readFile(temp), { maxPixels: limits.maxPixels });
    return { temp, format: facts.ext, ext: facts.ext, bytes, isAnimated: facts.isAnimated };
  } catch (err) {
    await writer.discard(temp);
    throw new FetchFailure(`unusable image: ${errorMessage(err)}`, false);
  }
}

function checkSignature(head: Buffer): void {
  const sniffed = sniffFormat(head);
  if ('unsupported' in sniffed) {
    const what = sniffed.unsupported === 'unknown' ? 'unrecognised bytes' : sniffed.unsupported;
    throw new FetchFailure(`not an image (${what}); only JPEG, PNG, GIF and WebP are kept`, false);
  }
}
