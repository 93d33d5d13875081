/** Runs the emomo CLI as a separate process, exactly as an operator or cron would. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from './workspace.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Peak resident memory of the CLI process, in MB. */
  peakRssMb: number;
}

const entry = path.join(projectRoot, 'src', 'cli', 'index.ts');
const rssHook = path.join(projectRoot, 'test', 'helpers', 'report-rss.mjs');
/** Resolved here, so the CLI can run from any working folder. */
const tsxLoader = import.meta.resolve('tsx');

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this user (tests running as root check what an unprivileged user meets). */
  uid?: number;
}

export function startCli(args: string[], options: CliOptions = {}) {
  const rssDir = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-rss-'));
  if (options.uid !== undefined) fs.chmodSync(rssDir, 0o777);
  const rssFile = path.join(rssDir, 'rss');
  const child: ChildProcess = spawn(process.execPath, ['--import', tsxLoader, '--import', rssHook, entry, ...args], {
    cwd: options.cwd ?? projectRoot,
    env: { ...process.env, ...options.env, EMOMO_TEST_RSS_FILE: rssFile },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.uid } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      const kb = fs.existsSync(rssFile) ? Number(fs.readFileSync(rssFile, 'utf8')) : 0;
      fs.rmSync(path.dirname(rssFile), { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr, peakRssMb: kb / 1024 });
    });
  });
  return { child, done, output: () => ({ stdout, stderr }) };
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** Waits until `predicate` holds, polling; fails after `ms`. */
export async function waitFor(predicate: () => boolean, ms = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
