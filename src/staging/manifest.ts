/** Reading and repairing manifest.jsonl without loading it whole. */
import { createReadStream, promises as fs } from 'node:fs';
import readline from 'node:readline';

export type ManifestLine =
  | { kind: 'record'; line: number; record: Record<string, unknown> }
  | { kind: 'malformed'; line: number; reason: string };

/** Every non-empty line of a manifest, parsed; a missing manifest yields nothing. */
export async function* readManifest(file: string): AsyncGenerator<ManifestLine> {
  const exists = await fs.stat(file).catch(() => undefined);
  if (!exists?.isFile()) return;
  const input = createReadStream(file, { encoding: 'utf8' });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const raw of lines) {
      n++;
      const text = (n === 1 ? raw.replace(/^\uFEFF/, '') : raw).trim();
      if (!text) continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        yield { kind: 'malformed', line: n, reason: 'not valid JSON' };
        continue;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        yield { kind: 'malformed', line: n, reason: 'not a JSON object' };
        continue;
      }
      yield { kind: 'record', line: n, record: value as Record<string, unknown> };
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

/** Bytes after the last newline: a line a crash cut short. 0 when the file ends cleanly (or is absent). */
export async function tornTailBytes(file: string): Promise<{ size: number; torn: number }> {
  const handle = await fs.open(file, 'r').catch(() => undefined);
  if (!handle) return { size: 0, torn: 0 };
  try {
    const { size } = await handle.stat();
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const { bytesRead } = await handle.read(chunk, 0, end - start, start);
      const nl = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (nl >= 0) return { size, torn: size - (start + nl + 1) };
      end = start;
    }
    return { size, torn: size };
  } finally {
    await handle.close();
  }
}

export type TailRepair = { kind: 'clean' } | { kind: 'terminated' } | { kind: 'truncated'; bytes: number };

/**
 * Makes the manifest end with a newline before anything is appended. A last
 * line that is complete JSON (a hand-written file) only gets its newline; a
 * line a crash cut short is cut off, so it can neither corrupt the next
 * append nor be mistaken for an item.
 */
export async function repairTornTail(file: string): Promise<TailRepair> {
  const { size, torn } = await tornTailBytes(file);
  if (torn === 0) return { kind: 'clean' };
  const handle = await fs.open(file, 'r+');
  try {
    const tail = Buffer.alloc(torn);
    await handle.read(tail, 0, torn, size - torn);
    if (isJsonObject(tail.toString('utf8'))) {
      await handle.write('\n', size);
      return { kind: 'terminated' };
    }
    await handle.truncate(size - torn);
    return { kind: 'truncated', bytes: torn };
  } finally {
    await handle.close();
  }
}

function isJsonObject(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}
