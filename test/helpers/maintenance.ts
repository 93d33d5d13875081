/** Runs `verify`, `purge` and `embed` in-process against a workspace, as their CLI commands do, and returns their JSON reports. */
import { createApp, type AppOverrides } from '../../src/app.js';
import { dupes, type DupesFlags, type dupesJson } from '../../src/cli/commands/dupes.js';
import { embed } from '../../src/cli/commands/embed.js';
import { purge, type PurgeFlags } from '../../src/cli/commands/purge.js';
import { verify, type VerifyFlags } from '../../src/cli/commands/verify.js';
import { Reporter } from '../../src/cli/reporter.js';
import type { EmbedSummary } from '../../src/pipeline/embed-service.js';
import type { PurgeReport } from '../../src/pipeline/purge-service.js';
import type { VerifyReport } from '../../src/pipeline/verify-service.js';
import { Capture } from './run-ingest.js';
import type { Workspace } from './workspace.js';

export interface Run<R> {
  code: number;
  report: R;
  /** The JSON line as printed. */
  text: string;
  /** What went to stderr. */
  log: string;
}

async function run<R>(
  ws: Workspace,
  env: NodeJS.ProcessEnv | undefined,
  body: (app: ReturnType<typeof createApp>, reporter: Reporter) => Promise<number>,
  overrides: AppOverrides = {},
): Promise<Run<R>> {
  const app = createApp({ configPath: ws.config, ...(env ? { env } : {}) }, overrides);
  const stdout = new Capture();
  const stderr = new Capture();
  try {
    const code = await body(app, new Reporter({ json: true, quiet: false, verbose: false }, stderr, stdout));
    return { code, report: JSON.parse(stdout.text) as R, text: stdout.text, log: stderr.text };
  } finally {
    await app.close();
  }
}

export function runVerify(ws: Workspace, flags: Partial<VerifyFlags> = {}, env?: NodeJS.ProcessEnv): Promise<Run<VerifyReport>> {
  return run(ws, env, (app, reporter) => verify({ repair: false, deep: false, force: false, examples: 3, ...flags }, app, reporter));
}

export function runPurge(ws: Workspace, flags: Partial<PurgeFlags> & { source: string }, env?: NodeJS.ProcessEnv): Promise<Run<PurgeReport>> {
  return run(ws, env, (app, reporter) => purge({ dryRun: false, yes: true, examples: 3, ...flags }, app, reporter));
}

export function runEmbed(ws: Workspace, embedding: string, overrides: AppOverrides = {}): Promise<Run<EmbedSummary>> {
  const signal = new AbortController().signal;
  return run(ws, undefined, (app, reporter) => embed({ embedding, watch: false, lock: false }, app, reporter, signal), overrides);
}

export type DupesJson = ReturnType<typeof dupesJson>;

export function runDupes(ws: Workspace, flags: Partial<DupesFlags> = {}, env?: NodeJS.ProcessEnv): Promise<Run<DupesJson>> {
  return run(ws, env, (app, reporter) => dupes({ merge: false, force: false, examples: 5, ...flags }, app, reporter));
}

/** Kind → count of a verify report's issues. */
export const issueCounts = (issues: VerifyReport['issues']): Record<string, number> =>
  Object.fromEntries(issues.map((i) => [i.kind, i.count]));
