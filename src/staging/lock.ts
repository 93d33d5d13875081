/** One crawl per staging source at a time: `<source>/.crawl.lock` holds the crawler's pid. */
import { promises as fs } from 'node:fs';
import { UsageError } from '../errors.js';

/** The pid of a live process holding the lock, or undefined (no lock, or its process is gone). */
export async function lockHolder(lock: string): Promise<number | undefined> {
  const text = await fs.readFile(lock, 'utf8').catch(() => undefined);
  const pid = Number(text?.trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/** Takes the lock; a lock whose process is gone (kill -9) is taken over. */
export async function acquireLock(lock: string, sourceId: string): Promise<void> {
  for (let tries = 0; tries < 2; tries++) {
    try {
      await fs.writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = await lockHolder(lock);
    if (pid !== undefined) throw new UsageError(`another crawl of "${sourceId}" is running (pid ${pid}); if it is not, delete ${lock}`);
    await fs.rm(lock, { force: true });
  }
  throw new UsageError(`could not take the crawl lock ${lock}`);
}

export async function releaseLock(lock: string): Promise<void> {
  await fs.rm(lock, { force: true });
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
