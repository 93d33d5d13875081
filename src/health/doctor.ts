/**
 * `emomo doctor`: is this installation ready to work? Loads the config, opens
 * the database, round-trips a probe object through storage and makes one
 * tiny real request to every configured provider. Every outcome is a value
 * (OK / FAIL / SKIP with a detail and a hint); nothing here throws, and every
 * detail passes through the redactor, so no secret is ever printed.
 */
import { createApp, type App, type AppOverrides } from '../app.js';
import type { Config } from '../config/types.js';
import { errorMessage } from '../errors.js';
import { makeRedactor, type Redactor } from '../redact.js';
import { STORAGE_ACCESS_KEY_ENV, STORAGE_SECRET_KEY_ENV } from '../storage/s3-config.js';
import { CheckFailed, checkDatabase, checkDescriber, checkEmbedder, checkStorage } from './checks.js';
import { hintFor, type HintContext } from './hints.js';

export type CheckStatus = 'ok' | 'fail' | 'skip';

export interface CheckResult {
  /** "config", "database", "storage", "describer", "embedding:<name>". */
  check: string;
  status: CheckStatus;
  detail: string;
  hint?: string;
  duration_ms: number;
}

export interface DoctorReport {
  ok: boolean;
  /** The config file used, or "(built-in defaults)". */
  config_file?: string;
  checks: CheckResult[];
}

export interface DoctorOptions {
  configPath?: string;
  dbPath?: string;
  env: NodeJS.ProcessEnv;
  /** Longest a single check may take. */
  timeoutMs: number;
  overrides?: AppOverrides;
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const started = Date.now();
  let app: App;
  try {
    app = createApp({ configPath: options.configPath, dbPath: options.dbPath, env: options.env }, options.overrides);
  } catch (err) {
    const redact = makeRedactor([]);
    const checks: CheckResult[] = [
      { check: 'config', status: 'fail', detail: redact(errorMessage(err)), ...hint(err, {}), duration_ms: Date.now() - started },
      ...['database', 'storage', 'describer', 'embeddings'].map(
        (check): CheckResult => ({ check, status: 'skip', detail: 'the config did not load', duration_ms: 0 }),
      ),
    ];
    return { ok: false, checks };
  }
  try {
    return await runChecks(app, options.timeoutMs, started);
  } finally {
    await app.close();
  }
}

async function runChecks(app: App, timeoutMs: number, started: number): Promise<DoctorReport> {
  const { config } = app;
  const checks: CheckResult[] = [
    { check: 'config', status: 'ok', detail: configSummary(config), duration_ms: Date.now() - started },
  ];
  const run = (check: string, ctx: HintContext, body: (signal: AbortSignal) => Promise<string> | string) =>
    timed(check, app.redact, ctx, timeoutMs, body);

  checks.push(
    await run('database', { urlKey: '--db / database.path / database.url' }, () => checkDatabase(app.database, config.embeddings, config.file)),
  );
  // Storage and providers are independent: ask them all at once.
  checks.push(
    ...(await Promise.all([
      run('storage', storageHints(config), () => checkStorage(app.storage)),
      run('describer', { keyEnv: envNames(config.vlm.apiKeyEnv), urlKey: 'vlm.base_url' }, (signal) =>
        checkDescriber(app.describer, signal),
      ),
      ...config.embeddings.map((e) =>
        run(`embedding:${e.name}`, { keyEnv: envNames(e.apiKeyEnv), urlKey: `embeddings[${e.name}].base_url` }, (signal) =>
          checkEmbedder(e, app.embedding(e.name).embedder, signal),
        ),
      ),
    ])),
  );
  return { ok: checks.every((c) => c.status !== 'fail'), config_file: config.file, checks };
}

function configSummary(config: Config): string {
  const vlm = config.vlm.provider === 'local' ? 'local' : `${config.vlm.provider} ${config.vlm.model}`;
  const embeddings = config.embeddings.map((e) => `${e.name}${e.isDefault ? '*' : ''}`).join(', ');
  return `${config.file}: vlm ${vlm}; embeddings ${embeddings}; storage ${config.storage.type}`;
}

function storageHints(config: Config): HintContext {
  if (config.storage.type === 'local') return { urlKey: `storage.path (${config.storage.path})` };
  return { keyEnv: [STORAGE_ACCESS_KEY_ENV, STORAGE_SECRET_KEY_ENV], urlKey: 'storage.endpoint' };
}

function envNames(name: string | undefined): string[] {
  return name ? [name] : [];
}

function hint(err: unknown, ctx: HintContext): { hint?: string } {
  const text = err instanceof CheckFailed && err.hint ? err.hint : hintFor(err, ctx);
  return text ? { hint: text } : {};
}

/** Runs one check under a deadline; an error becomes a FAIL with a redacted detail. */
async function timed(
  check: string,
  redact: Redactor,
  ctx: HintContext,
  timeoutMs: number,
  body: (signal: AbortSignal) => Promise<string> | string,
): Promise<CheckResult> {
  const started = Date.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    const detail = await Promise.race([Promise.resolve().then(() => body(controller.signal)), deadline]);
    return { check, status: 'ok', detail: redact(detail), duration_ms: Date.now() - started };
  } catch (err) {
    const { hint: text } = hint(err, ctx);
    return {
      check,
      status: 'fail',
      detail: redact(errorMessage(err)),
      ...(text ? { hint: redact(text) } : {}),
      duration_ms: Date.now() - started,
    };
  } finally {
    clearTimeout(timer);
  }
}
