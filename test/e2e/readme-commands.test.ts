/**
 * The README's shell commands and cron lines, and every example in `--help`,
 * pasted into a shell after the README's set-up (`npm ci`, `npm link`): a
 * scratch checkout (the shipped config and sample set), `emomo` on the PATH,
 * the offline defaults. Lines that need the network, an API key or a file
 * only the reader has are skipped, each for a reason listed here.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { projectRoot, sampleDir } from '../helpers/workspace.js';

/** Lines not run, and why. Everything else must exit 0. */
const SKIPPED: ReadonlyArray<[RegExp, string]> = [
  [/^npm (ci|link|test)\b(?! && npx emomo)/, 'the set-up itself: this test runs in the state it leaves'],
  [/\bcrawl\b/, 'fetches a real site'],
  [/--embedding[ =]jina|--watch/, 'needs a Jina API key and the network'],
  [/\bchinesebqb\b/, 'needs a ChineseBQB checkout'],
  [/configs\/prod\.yaml/, "the reader's own config"],
  [/\bmigrate --to\b/, 'needs a PostgreSQL server (test/e2e/migrate-cli.test.ts runs migrate against one)'],
  [/--image\b/, "needs an embedding with input: image and the reader's own picture (test/integration/recall-image.test.ts runs it)"],
  [/\bemomo serve\b|^curl\b|^docker\b/, 'a server that runs until stopped (test/e2e/serve-cli.test.ts runs it; docker is not installed here)'],
];

interface Line {
  where: string;
  command: string;
}

/** Shell commands of the README: ```sh blocks line by line, ```cron entries without their schedule. */
function readmeLines(): Line[] {
  const text = fs.readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
  const lines: Line[] = [];
  for (const block of text.matchAll(/^```(sh|cron)\n([\s\S]*?)^```/gm)) {
    for (const raw of block[2]!.split('\n')) {
      const line = raw.replace(/\s+#\s.*$/, '').trim();
      if (!line || line.startsWith('#')) continue;
      const command = block[1] === 'cron' ? line.split(/\s+/).slice(5).join(' ') : line;
      lines.push({ where: `README ${block[1]}`, command });
    }
  }
  return lines;
}

/** The `Examples:` lines every command prints after its --help. */
function helpExamples(): Line[] {
  const { program } = buildProgram();
  const lines: Line[] = [];
  const visit = (command: Command, name: string) => {
    let text = '';
    command.configureOutput({ writeOut: (s) => (text += s), writeErr: () => undefined });
    command.outputHelp();
    const examples = text.split(/^Examples:\n/m)[1]?.split(/\n\n/)[0] ?? '';
    for (const raw of examples.split('\n')) {
      const line = raw.replace(/\s+#\s.*$/, '').trim();
      if (line.startsWith('emomo')) lines.push({ where: `${name} --help`, command: line });
    }
    for (const sub of command.commands) visit(sub, `${name} ${sub.name()}`);
  };
  visit(program, 'emomo');
  return lines;
}

function run(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('README and --help commands, pasted into a shell', () => {
  let checkout: string;
  let env: NodeJS.ProcessEnv;

  before(() => {
    checkout = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-readme-'));
    fs.cpSync(path.join(projectRoot, 'configs'), path.join(checkout, 'configs'), { recursive: true });
    fs.cpSync(sampleDir, path.join(checkout, 'staging', 'sample'), { recursive: true });
    // What `npm link` puts on the PATH, and the launcher cron lines call by path; both run the sources here.
    const launcher = `#!/bin/sh\nexec "${process.execPath}" --import "${import.meta.resolve('tsx')}" "${path.join(projectRoot, 'src', 'cli', 'index.ts')}" "$@"\n`;
    for (const dir of ['path', 'bin']) {
      fs.mkdirSync(path.join(checkout, dir));
      fs.writeFileSync(path.join(checkout, dir, 'emomo'), launcher, { mode: 0o755 });
    }
    // What the skipped `crawl --source fabiaoqing` would have staged (the staging examples tidy it).
    fs.cpSync(sampleDir, path.join(checkout, 'staging', 'fabiaoqing'), { recursive: true });
    // The folder of the reader's own memes that the examples ingest.
    fs.mkdirSync(path.join(checkout, 'my-memes'));
    for (const name of ['s001.png', 's002.jpg']) fs.copyFileSync(path.join(sampleDir, 'images', name), path.join(checkout, 'my-memes', name));
    env = { ...process.env, PATH: `${path.join(checkout, 'path')}:${process.env.PATH}`, EMOMO_CONFIG: '', EMOMO_DB: '' };
    delete env.EMOMO_CONFIG;
    delete env.EMOMO_DB;
  });
  after(() => fs.rmSync(checkout, { recursive: true, force: true }));

  test('every README line and --help example runs (exit 0) or is skipped for a listed reason', async () => {
    const lines = [...readmeLines(), ...helpExamples()];
    assert.ok(lines.some((l) => l.where === 'README cron'), 'the cron lines are found');
    assert.ok(lines.some((l) => l.where === 'emomo recall --help'), 'the help examples are found');
    const failures: string[] = [];
    let ran = 0;
    for (const { where, command } of lines) {
      if (SKIPPED.some(([pattern]) => pattern.test(command))) continue;
      // `npm ci && npx emomo …`: the set-up is this test's state; npx runs the same launcher `npm link` puts on the PATH.
      const pasted = command.replace(/^npm ci && npx emomo\b/, 'emomo').replaceAll('/srv/emomo', checkout);
      const { code, output } = await run(pasted, checkout, env);
      ran++;
      if (code !== 0) failures.push(`${where}: \`${command}\` exited ${code}\n${output.slice(-600)}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(ran >= 15, `ran ${ran} commands`);
    assert.ok(!fs.existsSync(path.join(checkout, 'configs', 'data')), 'the library is data/ of the checkout');
    assert.ok(fs.existsSync(path.join(checkout, 'data', 'emomo.db')));
  });
});
