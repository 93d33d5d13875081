/**
 * The picture of `recall --image <file|url>`: read from a file or fetched
 * over http(s), at most `maxBytes` within `timeoutMs`. Only read here (no
 * decoder is loaded): the search checks and decodes it like any input
 * (library/recall-search.ts), the same way as a picture sent to `emomo
 * serve`. Any problem is a UsageError naming the picture.
 */
import { promises as fs } from 'node:fs';
import { formatBytes } from '../config/byte-size.js';
import { UsageError, errorMessage } from '../errors.js';

export interface QueryPictureLimits {
  maxBytes: number;
  timeoutMs: number;
}

export async function readQueryPicture(source: string, limits: QueryPictureLimits, signal?: AbortSignal): Promise<Buffer> {
  try {
    return /^https?:\/\//i.test(source) ? await fetchPicture(source, limits, signal) : await readPicture(source, limits.maxBytes);
  } catch (err) {
    throw err instanceof UsageError ? err : new UsageError(`--image ${source}: ${errorMessage(err)}`);
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
  const reader = response.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for (let part = await reader.read(); !part.done; part = await reader.read()) {
      size += part.value.byteLength;
      if (size > limits.maxBytes) throw new UsageError(`--image ${url}: larger than the ${formatBytes(limits.maxBytes)} limit (ingest.max_file_bytes)`);
      chunks.push(Buffer.from(part.value));
    }
  } finally {
    await reader.cancel().catch(() => undefined); // stops a transfer cut short
  }
  return Buffer.concat(chunks);
}
