/**
 * The picture of `recall --image <file|url>`: read from a file or fetched
 * over http(s) (at most `maxBytes`, within `timeoutMs`), then checked like
 * any input (format by magic bytes, pixel limit) and turned into the still
 * every embedder takes (vlm-input.ts). Any problem is a UsageError naming
 * the picture.
 */
import { promises as fs } from 'node:fs';
import { formatBytes } from '../config/byte-size.js';
import { UsageError, errorMessage } from '../errors.js';
import type { ImageLimits } from './probe.js';
import { stillFromFile } from './vlm-input.js';

export interface QueryPictureLimits extends ImageLimits {
  maxBytes: number;
  maxSide: number;
  timeoutMs: number;
}

export async function loadQueryPicture(source: string, limits: QueryPictureLimits, signal?: AbortSignal): Promise<Buffer> {
  const problem = (why: string) => new UsageError(`--image ${source}: ${why}`);
  let bytes: Buffer;
  try {
    bytes = /^https?:\/\//i.test(source) ? await fetchPicture(source, limits, signal) : await readPicture(source, limits.maxBytes);
  } catch (err) {
    throw err instanceof UsageError ? err : problem(errorMessage(err));
  }
  try {
    return await stillFromFile(bytes, limits, limits.maxSide);
  } catch (err) {
    throw problem(errorMessage(err));
  }
}

async function readPicture(file: string, maxBytes: number): Promise<Buffer> {
  const stat = await fs.stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`--image ${file}: ${err.code === 'ENOENT' ? 'no such file' : errorMessage(err)}`);
  });
  if (!stat.isFile()) throw new UsageError(`--image ${file}: not a file`);
  if (stat.size > maxBytes) throw new UsageError(`--image ${file}: ${formatBytes(stat.size)}, over the ${formatBytes(maxBytes)} limit (ingest.max_file_bytes)`);
  return fs.readFile(file);
}

async function fetchPicture(url: string, limits: QueryPictureLimits, signal?: AbortSignal): Promise<Buffer> {
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  const response = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: 'follow' }).catch((err: unknown) => {
    throw new UsageError(`--image ${url}: ${timeout.aborted ? `no answer within ${limits.timeoutMs} ms (--timeout)` : errorMessage(err)}`);
  });
  if (!response.ok || !response.body) throw new UsageError(`--image ${url}: HTTP ${response.status}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > limits.maxBytes) throw new UsageError(`--image ${url}: larger than the ${formatBytes(limits.maxBytes)} limit (ingest.max_file_bytes)`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
