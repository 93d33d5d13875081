/**
 * Writes one staging source so that a crash at any moment leaves it valid:
 * an image is downloaded into a temporary file inside images/ and renamed
 * into place, and only then is its manifest line appended, whole, in one
 * write to a file opened with O_APPEND. On open, the writer takes the
 * source's lock, repairs a torn last line, removes temporary files a killed
 * run left behind, and streams the manifest into the set of known ids.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TEMP_PREFIX, stagingPaths, type ManifestRecord, type SkipRecord, type StagingPaths } from '../staging/layout.js';
import type { HeldLock } from '../lock-file.js';
import { acquireCrawlLock } from '../staging/lock.js';
import { readManifest, repairTornTail, type TailRepair } from '../staging/manifest.js';

export interface OpenReport {
  /** What was done about a last line a crash cut short. */
  tail: TailRepair;
  /** Temporary downloads a killed run left behind, now deleted. */
  removedTemps: number;
  /** Ids already in the manifest: skipped without a request. */
  known: number;
  /** Ids earlier runs refused for good (skipped.jsonl): not asked for again unless retried on purpose. */
  refused: number;
  malformedLines: number;
}

export class StagingWriter {
  private appendChain: Promise<void> = Promise.resolve();

  private constructor(
    readonly paths: StagingPaths,
    private readonly ids: Set<string>,
    private readonly refused: Set<string>,
    private readonly manifest: fs.FileHandle,
    private readonly skipLog: fs.FileHandle,
    readonly report: OpenReport,
    private readonly lock: HeldLock,
  ) {}

  /** @param retryRefused forget skipped.jsonl for this run (its images are asked for again). */
  static async open(root: string, sourceId: string, retryRefused = false): Promise<StagingWriter> {
    const paths = stagingPaths(root, sourceId);
    await fs.mkdir(paths.images, { recursive: true });
    const lock = acquireCrawlLock(paths.lock, sourceId);
    try {
      const tail = await repairTornTail(paths.manifest);
      await repairTornTail(paths.skipped);
      const removedTemps = await removeTemps(paths.images);
      const { ids, malformed } = await loadIds(paths.manifest);
      const refused = retryRefused ? new Set<string>() : (await loadIds(paths.skipped)).ids;
      const manifest = await fs.open(paths.manifest, 'a');
      const skipLog = await fs.open(paths.skipped, 'a');
      const report = { tail, removedTemps, known: ids.size, refused: refused.size, malformedLines: malformed };
      return new StagingWriter(paths, ids, refused, manifest, skipLog, report, lock);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  /** Already staged. */
  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Refused for good by an earlier run. */
  wasRefused(id: string): boolean {
    return this.refused.has(id);
  }

  /** Remembers an image that cannot succeed later (404, not an image, too large, robots.txt). */
  async recordRefusal(record: SkipRecord): Promise<void> {
    await this.append(this.skipLog, record);
    this.refused.add(record.id);
  }

  /** A fresh temporary file in images/ (same file system, so the rename is atomic). */
  tempPath(id: string): string {
    return path.join(this.paths.images, `${TEMP_PREFIX}${id}-${process.pid}-${randomBytes(4).toString('hex')}`);
  }

  /**
   * Moves a finished download into place and records it. The line is written
   * after the rename: a crash in between leaves an image without a line (an
   * orphan that `staging stats` reports and the next crawl overwrites),
   * never a line without its image.
   */
  async commit(tempFile: string, record: Omit<ManifestRecord, 'filename'> & { ext: string }): Promise<ManifestRecord> {
    const { ext, ...rest } = record;
    const filename = `${record.id}.${ext}`;
    await fs.rename(tempFile, path.join(this.paths.images, filename));
    const line: ManifestRecord = { ...rest, filename };
    await this.append(this.manifest, line);
    this.ids.add(record.id);
    return line;
  }

  /** One whole line in one write to an O_APPEND file, one line at a time: lines never interleave. */
  private append(handle: fs.FileHandle, value: unknown): Promise<void> {
    const text = Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
    const write = this.appendChain.then(async () => {
      const { bytesWritten } = await handle.write(text, 0, text.length, null);
      if (bytesWritten !== text.length) throw new Error('short write to a staging file');
    });
    this.appendChain = write.catch(() => undefined);
    return write;
  }

  async discard(tempFile: string): Promise<void> {
    await fs.rm(tempFile, { force: true });
  }

  async close(): Promise<void> {
    await this.appendChain;
    await this.manifest.sync().catch(() => undefined);
    await this.manifest.close();
    await this.skipLog.close();
    this.lock.release();
  }
}

async function loadIds(file: string): Promise<{ ids: Set<string>; malformed: number }> {
  const ids = new Set<string>();
  let malformed = 0;
  for await (const line of readManifest(file)) {
    if (line.kind === 'malformed') malformed++;
    else if (typeof line.record['id'] === 'string') ids.add(line.record['id']);
  }
  return { ids, malformed };
}

async function removeTemps(images: string): Promise<number> {
  const names = await fs.readdir(images);
  const temps = names.filter((n) => n.startsWith(TEMP_PREFIX));
  await Promise.all(temps.map((n) => fs.rm(path.join(images, n), { force: true })));
  return temps.length;
}
