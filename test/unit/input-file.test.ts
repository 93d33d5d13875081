import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { ItemError } from '../../src/errors.js';
import { readInputFile } from '../../src/sources/input-file.js';

const LIMIT = { maxBytes: 1024 };

async function folder(t: TestContext): Promise<{ root: string; outside: string }> {
  const base = realpathSync(await fs.mkdtemp(path.join(os.tmpdir(), 'emomo-input-')));
  t.after(() => fs.rm(base, { recursive: true, force: true }));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  await fs.mkdir(path.join(root, 'sub'), { recursive: true });
  await fs.mkdir(outside);
  await fs.writeFile(path.join(outside, 'secret.png'), 'SECRET');
  return { root, outside };
}

/** Asserts the read fails at stage `read` with a reason matching `reason` and the given permanence. */
async function refused(promise: Promise<Buffer>, reason: RegExp, permanent: boolean): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ItemError, String(err));
    assert.equal(err.stage, 'read');
    assert.match(err.message, reason);
    assert.equal(err.permanent, permanent, err.message);
    return true;
  });
}

describe('readInputFile', () => {
  it('reads a regular file inside its root', async (t) => {
    const { root } = await folder(t);
    await fs.writeFile(path.join(root, 'sub', 'a.png'), 'bytes');
    const bytes = await readInputFile({ path: path.join(root, 'sub', 'a.png'), root }, LIMIT);
    assert.equal(bytes.toString(), 'bytes');
    // Without a root, the file's own folder is the root.
    assert.equal((await readInputFile({ path: path.join(root, 'sub', 'a.png') }, LIMIT)).toString(), 'bytes');
  });

  it('never follows a symlink in the last component, even one that stays inside', async (t) => {
    const { root, outside } = await folder(t);
    await fs.writeFile(path.join(root, 'ok.png'), 'ok');
    await fs.symlink(path.join(outside, 'secret.png'), path.join(root, 'evil.png'));
    await fs.symlink('ok.png', path.join(root, 'alias.png'));
    await refused(readInputFile({ path: path.join(root, 'evil.png'), root }, LIMIT), /evil\.png is a symlink, and links are never followed when a file is read; not read/, true);
    await refused(readInputFile({ path: path.join(root, 'alias.png'), root }, LIMIT), /alias\.png is a symlink/, true);
  });

  it('refuses a file reached through a folder swapped for a symlink out of the root', async (t) => {
    const { root, outside } = await folder(t);
    await fs.rm(path.join(root, 'sub'), { recursive: true });
    await fs.symlink(outside, path.join(root, 'sub'));
    await refused(readInputFile({ path: path.join(root, 'sub', 'secret.png'), root }, LIMIT), /leads outside the source folder .*not read/, true);
  });

  it('refuses FIFOs and folders without hanging, and says when a file is missing (transient)', async (t) => {
    const { root } = await folder(t);
    execFileSync('mkfifo', [path.join(root, 'pipe.png')]);
    await refused(readInputFile({ path: path.join(root, 'pipe.png'), root }, LIMIT), /not a regular file/, true);
    await refused(readInputFile({ path: path.join(root, 'sub'), root }, LIMIT), /not a regular file/, true);
    await refused(readInputFile({ path: path.join(root, 'gone.png'), root }, LIMIT), /file not found: .*gone\.png/, false);
  });

  it('refuses a file over the byte limit from its size alone, naming the config key', async (t) => {
    const { root } = await folder(t);
    const big = path.join(root, 'big.png');
    await fs.writeFile(big, 'x');
    await fs.truncate(big, 700 * 1024 * 1024); // sparse: reading it would allocate 700 MB
    const before = process.memoryUsage().rss;
    await refused(
      readInputFile({ path: big, root }, { maxBytes: 50 * 1024 * 1024 }),
      /^file is 700 MiB, over the 50 MiB limit \(ingest\.max_file_bytes\): .*big\.png$/,
      true,
    );
    assert.ok(process.memoryUsage().rss - before < 50 * 1024 * 1024, 'nothing was read');
    await fs.truncate(big, 1024);
    assert.equal((await readInputFile({ path: big, root }, LIMIT)).length, 1024, 'exactly the limit is accepted');
  });
});
