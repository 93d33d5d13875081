/**
 * What a new user meets with an existing library, run as they run it (a
 * spawned CLI): the wrong working folder, bad database paths, a read-only
 * mount, `--json` errors, pipes that close early, recall's bounds and noise.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, startCli } from '../helpers/cli.js';
import { FakeDescriber } from '../helpers/fakes.js';
import { runIngest } from '../helpers/run-ingest.js';
import { copySample, makeWorkspace, type Workspace } from '../helpers/workspace.js';

const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

describe('first hour with an existing library', () => {
  let ws: Workspace;
  /** A working folder with no config and no library in it. */
  let elsewhere: string;

  before(async () => {
    ws = makeWorkspace();
    copySample(ws, 'sample', 12);
    await runIngest(ws, { source: 'staging:sample' }, { describer: new FakeDescriber() });
    elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-elsewhere-'));
  });
  after(() => {
    ws?.cleanup();
    fs.rmSync(elsewhere, { recursive: true, force: true });
  });

  test('1: read-only commands in the wrong folder refuse, name the path and create nothing', async () => {
    const stats = await runCli(['stats'], { cwd: elsewhere });
    assert.equal(stats.code, 2, stats.stderr);
    assert.match(stats.stderr, /no library at .*data\/emomo\.db.*emomo ingest/);
    const repair = await runCli(['verify', '--repair', '--db', 'lib/emomo.db'], { cwd: elsewhere });
    assert.equal(repair.code, 2, repair.stderr);
    assert.deepEqual(fs.readdirSync(elsewhere), [], 'no folder or database was created');
  });

  test('1: ingest of a source that is not there, in the wrong folder, says where to run it and creates no library', async () => {
    for (const source of ['staging:sample', 'chinesebqb']) {
      const run = await runCli(['ingest', '--source', source], { cwd: elsewhere });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, source === 'chinesebqb' ? /ChineseBQB folder not found/ : /staging folder .* does not exist: run .*emomo crawl.* first, or run emomo from the folder that holds staging/);
    }
    assert.deepEqual(fs.readdirSync(elsewhere), [], 'no folder or database was created');
  });

  test('1: relative paths in a config resolve against its folder; stats names the database and storage', async () => {
    const relative = path.join(ws.dir, 'relative.yaml');
    fs.writeFileSync(relative, 'database:\n  path: emomo.db\nstorage:\n  path: objects\n');
    const run = await runCli(['--config', relative, 'stats'], { cwd: elsewhere });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /library: 12 memes/);
    assert.ok(run.stdout.includes(`database: ${ws.db}`), run.stdout);
    assert.ok(run.stdout.includes(`storage: local:${ws.objects}`), run.stdout);
  });

  test('9: a folder or a non-SQLite file as --db exits 2 naming the path', async () => {
    const notDb = path.join(elsewhere, 'notes.txt');
    fs.writeFileSync(notDb, 'not a database');
    try {
      const folder = await runCli(['--db', ws.dir, 'recall', '开心']);
      assert.equal(folder.code, 2, folder.stderr);
      assert.ok(folder.stderr.includes(`${ws.dir}: is a folder`), folder.stderr);
      const text = await runCli(['--db', notDb, 'stats']);
      assert.equal(text.code, 2, text.stderr);
      assert.ok(text.stderr.includes(`${notDb}: is not an emomo library`), text.stderr);
    } finally {
      fs.rmSync(notDb);
    }
  });

  test('9: a library on a read-only mount can be searched and counted', { skip: os.platform() === 'win32' }, async () => {
    // A copy without -wal/-shm files in a folder nobody may write to (as root, run the CLI as an unprivileged user).
    const ro = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-ro-'));
    try {
      fs.cpSync(ws.objects, path.join(ro, 'objects'), { recursive: true });
      // The ingest closed its connection cleanly: the WAL was checkpointed into the file.
      fs.copyFileSync(ws.db, path.join(ro, 'emomo.db'));
      fs.writeFileSync(path.join(ro, 'config.yaml'), 'database:\n  path: emomo.db\nstorage:\n  path: objects\n');
      for (const entry of fs.readdirSync(ro, { recursive: true, withFileTypes: true })) {
        fs.chmodSync(path.join(entry.parentPath, entry.name), entry.isDirectory() ? 0o555 : 0o444);
      }
      fs.chmodSync(ro, 0o555);
      const uid = process.getuid?.() === 0 ? 65534 : undefined;
      const recall = await runCli(['--config', path.join(ro, 'config.yaml'), 'recall', '表情包', '--json'], { uid });
      assert.equal(recall.code, 0, recall.stderr);
      assert.ok((json(recall.stdout).results as unknown[]).length > 0);
      const stats = await runCli(['--config', path.join(ro, 'config.yaml'), 'stats'], { uid });
      assert.equal(stats.code, 0, stats.stderr);
      assert.match(stats.stdout, /library: 12 memes/);
      assert.deepEqual(fs.readdirSync(ro).sort(), ['config.yaml', 'emomo.db', 'objects']);
    } finally {
      fs.chmodSync(ro, 0o755);
      fs.rmSync(ro, { recursive: true, force: true });
    }
  });

  test('10: --json prints {"error": {...}} for usage, config and missing-library errors', async () => {
    const usage = await runCli(['--json', 'recall']);
    assert.equal(usage.code, 2);
    assert.deepEqual(Object.keys(json(usage.stdout)), ['error']);
    assert.equal((json(usage.stdout).error as { exit: number }).exit, 2);
    const missing = await runCli(['--json', 'stats'], { cwd: elsewhere });
    assert.equal(missing.code, 2);
    assert.match((json(missing.stdout).error as { message: string }).message, /no library at/);
  });

  test('5: a reader that goes away (| head) ends the run quietly, no EPIPE stack', async () => {
    for (const args of [['--config', ws.config, 'stats'], ['--help']]) {
      const cli = startCli(args);
      cli.child.stdout!.destroy(); // the reader is gone before the first line
      const run = await cli.done;
      assert.equal(run.code, 0, run.stderr);
      assert.doesNotMatch(run.stderr, /EPIPE|at .*\.js/);
    }
  });

  test('3: --top-k beyond what the index answers is a usage error; the largest allowed works', async () => {
    const tooMany = await runCli(['--config', ws.config, 'recall', '开心', '--top-k', '1025']);
    assert.equal(tooMany.code, 2);
    assert.match(tooMany.stderr, /1 to 1000/);
    const most = await runCli(['--config', ws.config, 'recall', '开心', '--top-k', '1000', '--mode', 'vector', '--json']);
    assert.equal(most.code, 0, most.stderr);
  });

  test('7: an empty query exits 2; memes that match neither words nor vector are not listed', async () => {
    const blank = await runCli(['--config', ws.config, 'recall', '   ']);
    assert.equal(blank.code, 2);
    assert.match(blank.stderr, /query is empty/);
    const nothing = await runCli(['--config', ws.config, 'recall', 'qzxv', '--json']);
    assert.equal(nothing.code, 0, nothing.stderr);
    assert.deepEqual(json(nothing.stdout).results, []);
  });

  test('13 and 8: the table shows paths relative to the working folder; unknown filter values list the known ones', async () => {
    const table = await runCli(['--config', ws.config, 'recall', '熊猫头', '--category', '熊猫头'], { cwd: ws.dir });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, / objects\/[0-9a-f]{2}\/[0-9a-f]{32}\.\w+$/m);
    assert.ok(!table.stdout.includes(ws.objects), 'no absolute paths');
    assert.match(table.stdout, /words/);
    const unknown = await runCli(['--config', ws.config, 'recall', '开心', '--category', '不存在', '--source', 'dir:./nowhere']);
    assert.equal(unknown.code, 0);
    assert.match(unknown.stderr, /no meme has category .*不存在.*; known: .*熊猫头/);
    assert.match(unknown.stderr, /no meme comes from source .*dir:\/.*\/nowhere.*; known: staging:sample/);
  });
});
