/**
 * Runs verify over an existing library in its own process (started with
 * --expose-gc) and prints one JSON line: live heap after a full GC at every
 * progress step, relative to the heap just before verify started.
 * Usage: node --expose-gc --import tsx verify-heap-probe.ts <db> <objects>
 */
import { verifyLibrary } from '../../src/pipeline/verify-service.js';
import { LocalStorage } from '../../src/storage/local-storage.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const [dbPath, objects] = process.argv.slice(2) as [string, string];
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const store = new SqliteStore(dbPath);
const live = () => {
  gc();
  return process.memoryUsage().heapUsed;
};
const baseline = live();
let peak = baseline;
let samples = 0;
const report = await verifyLibrary(store, new LocalStorage(objects), {
  repair: false,
  examples: 5,
  onProgress: () => {
    samples++;
    peak = Math.max(peak, live());
  },
});
await store.close();
process.stdout.write(
  JSON.stringify({ found: report.found, memes: report.totals.memes, objects: report.totals.objects, samples, growth: peak - baseline, maxRssKb: process.resourceUsage().maxRSS }) + '\n',
);
