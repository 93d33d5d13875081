/** Runs the ingest command in-process against a workspace, with fakes swapped in where given. */
import { createApp, type AppOverrides } from '../../src/app.js';
import { ingest, type IngestFlags } from '../../src/cli/commands/ingest.js';
import { Reporter } from '../../src/cli/reporter.js';
import type { RunSummary } from '../../src/pipeline/outcome.js';
import type { Workspace } from './workspace.js';

export class Capture {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

export async function runIngest(
  ws: Workspace,
  flags: Partial<IngestFlags> & { source: string },
  overrides: AppOverrides = {},
  signal: AbortSignal = new AbortController().signal,
  /** Environment the app reads (API keys, ${VAR} in the config); default process.env. */
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number; summary: RunSummary; log: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const reporter = new Reporter({ json: true, quiet: false, verbose: false }, stderr, stdout);
  const log = reporter.log.bind(reporter);
  const app = createApp({ configPath: ws.config, signal, log, ...(env ? { env } : {}) }, overrides);
  try {
    const code = await ingest({ force: false, dryRun: false, ...flags }, app, reporter, signal);
    return { code, summary: JSON.parse(stdout.text) as RunSummary, log: stderr.text };
  } finally {
    await app.close();
  }
}
