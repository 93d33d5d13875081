/**
 * `npm run bench:verify [-- --n 100000 --dims 256] [--deep] [--postgres]`:
 * verify over a generated library (rows, vec0 rows, FTS rows, tiny local
 * objects), then verify --repair after breaking 1% of it. Each verify runs in
 * its own process so its peak RSS (process.resourceUsage().maxRSS) is its own,
 * not the generator's. `--deep` also reads every object back (each object
 * then gets bytes of its own). `--postgres` copies the generated library into
 * a fresh database on EMOMO_TEST_PG_URL and verifies that instead (without
 * the URL it says so and exits 0).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isPostgresUrl } from '../src/config/schema.js';
import { verifyLibrary } from '../src/pipeline/verify-service.js';
import { LocalStorage } from '../src/storage/local-storage.js';
import { storeOpener } from '../src/store/open-store.js';
import { generateLibrary } from '../test/helpers/library-generator.js';
import { STORE_BACKENDS, type LibraryCopy } from '../test/helpers/store-backends.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    dims: { type: 'string', default: '256' },
    deep: { type: 'boolean', default: false },
    postgres: { type: 'boolean', default: false },
    run: { type: 'string' },
    db: { type: 'string' },
    repair: { type: 'boolean', default: false },
  },
});
const backend = STORE_BACKENDS.find((b) => b.name === (values.postgres ? 'PostgreSQL' : 'SQLite'))!;

if (values.run) {
  // Child: one verify, one JSON line.
  const dir = values.run;
  const db = values.db!;
  const store = storeOpener(isPostgresUrl(db) ? { kind: 'postgres', url: db } : { kind: 'sqlite', path: db })();
  const started = performance.now();
  const report = await verifyLibrary(store, new LocalStorage(path.join(dir, 'objects')), {
    repair: values.repair,
    deep: values.deep,
    examples: 5,
  });
  await store.close();
  process.stdout.write(
    JSON.stringify({
      seconds: (performance.now() - started) / 1000,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      found: report.found,
      repaired: report.repaired?.reduce((n, a) => n + a.fixed, 0) ?? 0,
      consistent: report.consistent,
    }) + '\n',
  );
} else if (backend.unavailable) {
  console.log(`verify bench on ${backend.name} skipped: ${backend.unavailable}`);
} else {
  const n = Number(values.n);
  const dims = Number(values.dims);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-bench-verify-'));
  let copy: LibraryCopy | undefined;
  try {
    let t = performance.now();
    const lib = generateLibrary({ db: path.join(dir, 'emomo.db'), objects: path.join(dir, 'objects'), memes: n, dims, ownBytes: values.deep });
    const genSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    copy = await backend.copyOf(lib.db);
    const copySeconds = (performance.now() - t) / 1000;
    const self = fileURLToPath(import.meta.url);
    const flags = ['--run', dir, '--db', copy.db, ...(values.deep ? ['--deep'] : [])];
    const verify = (repair: boolean) =>
      JSON.parse(
        execFileSync(process.execPath, ['--import', 'tsx', self, ...flags, ...(repair ? ['--repair'] : [])], { encoding: 'utf8' }),
      ) as { seconds: number; maxRssMb: number; found: number; repaired: number; consistent: boolean };

    const clean = verify(false);
    // Break 1%: half the sample loses its object, the other half gets an orphan object next to it.
    const broken = Math.max(2, Math.floor(n / 100));
    for (let i = 1; i <= broken; i++) {
      const md5 = lib.md5(i * Math.floor(n / broken));
      const file = path.join(lib.objects, md5.slice(0, 2), `${md5}.png`);
      if (i % 2) fs.rmSync(file);
      else fs.writeFileSync(path.join(lib.objects, md5.slice(0, 2), `${md5.slice(0, 31)}0.gif`), 'x');
    }
    t = performance.now();
    const repair = verify(true);
    const line = (label: string, r: typeof clean) =>
      `${label.padEnd(38)} ${r.seconds.toFixed(2).padStart(7)} s  ${(n / r.seconds).toFixed(0).padStart(8)} memes/s  peak RSS ${r.maxRssMb.toFixed(0)} MB` +
      `  found ${r.found}${r.repaired ? `, repaired ${r.repaired}` : ''}${r.consistent ? '' : ' (inconsistent)'}`;
    const copied = backend.name === 'SQLite' ? '' : `, copied to ${backend.name} in ${copySeconds.toFixed(1)} s`;
    const deep = values.deep ? ' --deep' : '';
    console.log(`verify bench on ${backend.name}: ${n} memes, ${dims}-d vectors, local objects (generated in ${genSeconds.toFixed(1)} s${copied})`);
    console.log(line(`verify${deep} (clean)`, clean));
    console.log(line(`verify${deep} --repair (${broken} broken)`, repair));
  } finally {
    await copy?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
