/**
 * Runs verify (or, with `repair`, verify --repair) over an existing library
 * in its own process (started with --expose-gc) and prints one JSON line:
 * the peak live heap, after a full GC at every progress step and every 100 ms
 * in between (a repair is one call with no progress steps), relative to the
 * heap just before verify started.
 * Usage: node --expose-gc --import tsx verify-heap-probe.ts <db file or URL> <objects> [repair]
 */
import { isPostgresUrl } from '../../src/config/schema.js';
import { verifyLibrary } from '../../src/pipeline/verify-service.js';
import { LocalStorage } from '../../src/storage/local-storage.js';
import { storeOpener } from '../../src/store/open-store.js';

const [db, objects, mode] = process.argv.slice(2) as [string, string, string | undefined];
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const store = storeOpener(isPostgresUrl(db) ? { kind: 'postgres', url: db } : { kind: 'sqlite', path: db })();
// Opened before the baseline: loading a database driver is not growth.
await store.describe();
const live = () => {
  gc();
  return process.memoryUsage().heapUsed;
};
const baseline = live();
let peak = baseline;
let samples = 0;
const timer = setInterval(() => {
  samples++;
  peak = Math.max(peak, live());
}, 100);
const report = await verifyLibrary(store, new LocalStorage(objects), {
  repair: mode === 'repair',
  examples: 5,
  onProgress: () => {
    samples++;
    peak = Math.max(peak, live());
  },
});
clearInterval(timer);
await store.close();
process.stdout.write(
  JSON.stringify({
    found: report.found,
    remaining: report.remaining?.reduce((n, issue) => n + issue.count, 0),
    memes: report.totals.memes,
    objects: report.totals.objects,
    samples,
    growth: peak - baseline,
    maxRssKb: process.resourceUsage().maxRSS,
  }) + '\n',
);
