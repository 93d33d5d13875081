/**
 * Start-up stays light: `--version` and `--help` load commander and nothing
 * heavy (the stores, sharp, the config schema, providers, the server). A
 * command file that imports its service at the top instead of inside its
 * action puts that service's whole tree on every CLI call; this catches it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../helpers/workspace.js';

const HEAVY = ['better-sqlite3', 'sqlite-vec', 'pg', 'sharp', 'zod', 'yaml', 'openai', '@aws-sdk/client-s3', 'cheerio', 'fastify', 'onnxruntime-node', 'cli-progress'];
const entry = path.join(projectRoot, 'src', 'cli', 'index.ts');
const hook = path.join(projectRoot, 'test', 'helpers', 'record-packages.mjs');

/** What a CLI process resolves: package names, and emomo's own modules as src/... paths. */
function modulesLoadedBy(args: string[]): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-packages-'));
  try {
    const file = path.join(dir, 'list');
    fs.writeFileSync(file, '');
    const run = spawnSync(process.execPath, ['--import', hook, '--import', import.meta.resolve('tsx'), entry, ...args], {
      cwd: projectRoot,
      env: { ...process.env, EMOMO_TEST_PACKAGES_FILE: file },
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The command definitions need none of the work behind them: each command
 * imports its service inside its action. Every module costs start-up
 * (about 1 ms each to resolve, read, compile and link), and a service's tree
 * is dozens of them.
 */
const SERVICES = ['src/pipeline/', 'src/sources/', 'src/images/', 'src/library/', 'src/lexicon/', 'src/staging/', 'src/pictures/', 'src/serve/', 'src/providers/'];

for (const args of [['--version'], ['--help'], ['ingest', '--help'], ['recall', '--help'], ['migrate', '--help'], ['redescribe', '--help'], ['serve', '--help']]) {
  test(`emomo ${args.join(' ')} loads no heavy package and no service`, () => {
    const loaded = modulesLoadedBy(args);
    assert.ok(loaded.includes('commander') && loaded.includes('src/cli/main.ts'), `the recorder works (saw: ${loaded.join(', ')})`);
    assert.deepEqual(loaded.filter((p) => HEAVY.includes(p)), []);
    assert.deepEqual(loaded.filter((p) => SERVICES.some((dir) => p.startsWith(dir))), []);
    assert.ok(loaded.filter((p) => p.startsWith('src/')).length <= 45, `emomo's own modules loaded: ${loaded.filter((p) => p.startsWith('src/')).join(', ')}`);
  });
}
