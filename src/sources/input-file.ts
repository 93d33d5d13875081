/**
 * Reads one input image the only safe way: open once, check the opened
 * handle, read from that same handle. A source lists a file and checks its
 * path, but the file can be swapped (for a symlink out of the folder, a FIFO,
 * a 700 MB file) before it is read; so nothing learnt at listing time is
 * trusted here:
 * - the last component is opened with O_NOFOLLOW (a symlink there fails) and
 *   O_NONBLOCK (a FIFO never hangs the run);
 * - `fstat` of the handle must show a regular file no larger than the limit;
 * - the real path of the opened descriptor must lie inside the source root
 *   (a folder on the way swapped for a symlink is caught here);
 * - the bytes come from the handle, and no more than the size checked.
 * Used for every source item (staging, chinesebqb, dir) and every retry.
 */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { ItemError, errorMessage } from '../errors.js';
import { formatBytes } from '../config/byte-size.js';
import { isInside } from './walk.js';

export interface InputLimits {
  /** Largest accepted file, in bytes (ingest.max_file_bytes). */
  maxBytes: number;
}

/** The file, and the real path of the source folder it must stay inside (default: its own folder). */
export interface InputFile {
  path: string;
  root?: string | undefined;
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/** The file's bytes, or an ItemError at stage `read` saying why it was not read. */
export async function readInputFile(file: InputFile, limits: InputLimits): Promise<Buffer> {
  const handle = await openOnce(file.path);
  try {
    const stat = await handle.stat();
    // Where it is comes first: nothing more is learnt about a file outside the root.
    const real = await descriptorPath(handle, file.path, stat);
    const root = file.root ?? (await fs.realpath(path.dirname(file.path)).catch(() => path.dirname(file.path)));
    if (!isInside(root, real)) {
      throw new ItemError('read', `${file.path} leads outside the source folder ${root}; not read`, true);
    }
    if (!stat.isFile()) throw new ItemError('read', `not a regular file: ${file.path}`, true);
    if (stat.size > limits.maxBytes) {
      throw new ItemError(
        'read',
        `file is ${formatBytes(stat.size)}, over the ${formatBytes(limits.maxBytes)} limit (ingest.max_file_bytes): ${file.path}`,
        true,
      );
    }
    return await readExactly(handle, stat.size, file.path);
  } finally {
    await handle.close();
  }
}

async function openOnce(file: string): Promise<fs.FileHandle> {
  try {
    return await fs.open(file, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ItemError('read', `file not found: ${file}`, false);
    // O_NOFOLLOW on a symlink. Sources resolve links when they list (and check where they lead);
    // a link here was put in place of the file after that.
    if (code === 'ELOOP') throw new ItemError('read', `${file} is a symlink, and links are never followed when a file is read; not read`, true);
    if (code === 'EISDIR') throw new ItemError('read', `not a regular file: ${file}`, true);
    throw new ItemError('read', `cannot read ${file}: ${errorMessage(err)}`, false, { cause: err });
  }
}

/**
 * The real path of what the handle opened: `/proc/self/fd/N` on Linux;
 * elsewhere the real path of `file`, accepted only when it is the same inode.
 */
async function descriptorPath(handle: fs.FileHandle, file: string, stat: { dev: number; ino: number }): Promise<string> {
  const viaProc = await fs.readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
  if (viaProc !== undefined && path.isAbsolute(viaProc)) return viaProc;
  const real = await fs.realpath(file).catch(() => undefined);
  const now = real ? await fs.stat(real).catch(() => undefined) : undefined;
  if (!real || !now || now.dev !== stat.dev || now.ino !== stat.ino) {
    throw new ItemError('read', `${file} changed while being opened; not read`, false);
  }
  return real;
}

/** Reads `size` bytes; a file that grew meanwhile is being written and is tried again later. */
async function readExactly(handle: fs.FileHandle, size: number, file: string): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(size + 1);
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  if (filled > size) throw new ItemError('read', `${file} grew while being read (still being written?)`, false);
  return buffer.subarray(0, filled);
}
