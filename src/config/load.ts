/**
 * Reads configs/config.yaml (or the built-in defaults), substitutes `${VAR}`,
 * validates it against schema.ts and returns the camelCase `Config`. Every
 * problem found is reported at once, one `file: key: problem` line each.
 * API keys are deliberately not read here: `requireSecret` looks one up only
 * when a provider that needs it is built.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError, UsageError, errorMessage } from '../errors.js';
import { configError, defaultMessage, issueProblems, type Problem } from './issues.js';
import { libraryPathProblems } from './library-paths.js';
import { configSchema, isHttpUrl, isPostgresUrl, knownKeys, type ConfigFile } from './schema.js';
import { substituteEnv } from './substitute.js';
import type { Config, EmbeddingConfig } from './types.js';

export type * from './types.js';

/** Looked up relative to the working directory when no --config is given. */
export const DEFAULT_CONFIG_FILE = 'configs/config.yaml';
export const BUILT_IN_DEFAULTS = '(built-in defaults)';

export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  if (file === undefined) {
    if (existsSync(DEFAULT_CONFIG_FILE)) return loadConfig(DEFAULT_CONFIG_FILE, env);
    // Every key has a default, including one offline embedding, so `{}` is a full config.
    return resolveConfig(BUILT_IN_DEFAULTS, {}, env);
  }
  return resolveConfig(file, parseYaml(file, readConfigText(file)), env);
}

function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(file, '', 'file not found');
    if (code === 'EISDIR') throw new ConfigError(file, '', 'is a directory, expected a YAML file');
    throw new ConfigError(file, '', `cannot read: ${code ?? errorMessage(err)}`);
  }
}

function parseYaml(file: string, text: string): unknown {
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw configError(
      file,
      doc.errors.map((e) => {
        // prettyErrors appends " at line L, column C:" and a code excerpt; keep the sentence, say the place once.
        const sentence = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
        const at = e.linePos?.[0];
        return { key: '', problem: at ? `line ${at.line}, column ${at.col}: ${sentence}` : sentence };
      }),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (err) {
    throw new ConfigError(file, '', errorMessage(err)); // e.g. excessive alias count
  }
  if (raw === null || raw === undefined) return {}; // an empty file means "all defaults"
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(file, '', 'expected a mapping of sections (database, vlm, embeddings, storage, ingest, sources, recall, serve)');
  }
  return raw;
}

function resolveConfig(file: string, raw: unknown, env: NodeJS.ProcessEnv): Config {
  const problems: Problem[] = [];
  const data = substituteEnv(raw, env, problems);
  const parsed = configSchema.safeParse(data, { error: defaultMessage, reportInput: true });
  if (!parsed.success) {
    // A value whose ${VAR} failed is already reported; do not also complain about its shape.
    const reported = new Set(problems.map((p) => p.key));
    const schemaProblems = issueProblems(parsed.error.issues, knownKeys).filter((p) => !reported.has(p.key));
    throw configError(file, [...problems, ...schemaProblems]);
  }
  const config = toConfig(file, parsed.data, env, problems);
  problems.push(...libraryPathProblems({ databasePath: config.database.url ? undefined : config.database.path, storage: config.storage }));
  if (problems.length > 0) throw configError(file, problems);
  return file === BUILT_IN_DEFAULTS ? config : resolvePaths(config, data);
}

/**
 * A relative path written in a config file means "next to the config", so the
 * same file finds the same library from any working folder. Keys left at
 * their default stay relative to the working folder.
 */
function resolvePaths(config: Config, written: unknown): Config {
  const base = path.dirname(path.resolve(config.file));
  const at = (value: string, ...keys: string[]) => {
    let node = written;
    for (const key of keys) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    return node === undefined ? value : path.resolve(base, value);
  };
  return {
    ...config,
    database: { ...config.database, path: at(config.database.path, 'database', 'path') },
    storage: { ...config.storage, path: at(config.storage.path, 'storage', 'path') },
    sources: {
      ...config.sources,
      stagingPath: at(config.sources.stagingPath, 'sources', 'staging', 'path'),
      chinesebqbPath: at(config.sources.chinesebqbPath, 'sources', 'chinesebqb', 'path'),
    },
  };
}

function toConfig(file: string, c: ConfigFile, env: NodeJS.ProcessEnv, problems: Problem[]): Config {
  const { vlm, storage, ingest } = c;
  return {
    file,
    database: {
      path: c.database.path,
      ...optional('url', resolveDatabaseUrl(c.database.url, env, problems)),
      poolSize: c.database.pool_size,
      leaseMs: c.database.lease,
    },
    vlm: {
      provider: vlm.provider,
      model: vlm.model,
      ...optional('baseUrl', resolveBaseUrl(vlm, 'vlm', env, problems)),
      ...optional('apiKeyEnv', vlm.api_key_env),
      timeoutMs: vlm.timeout,
      ...optional('rpm', vlm.rpm),
      concurrency: vlm.concurrency,
      maxSide: vlm.max_side,
      animatedFrames: vlm.animated_frames,
      maxFrames: vlm.max_frames,
      ...optional('ocrThreads', vlm.ocr_threads),
    },
    embeddings: c.embeddings.map(
      (e, i): EmbeddingConfig => ({
        name: e.name,
        provider: e.provider,
        input: e.input,
        model: e.model,
        ...optional('apiKeyEnv', e.api_key_env),
        ...optional('baseUrl', resolveBaseUrl(e, `embeddings[${i}]`, env, problems)),
        dimensions: e.dimensions,
        collection: e.collection,
        isDefault: e.is_default,
        batchSize: e.batch_size,
        ...optional('rpm', e.rpm),
        timeoutMs: e.timeout,
        concurrency: e.concurrency,
      }),
    ),
    storage: {
      type: storage.type,
      path: storage.path,
      ...optional('endpoint', storage.endpoint),
      region: storage.region,
      ...optional('bucket', storage.bucket),
      ...optional('publicUrl', storage.public_url),
      forcePathStyle: storage.force_path_style,
    },
    ingest: {
      workers: ingest.workers,
      batchSize: ingest.batch_size,
      retryCount: ingest.retry_count,
      probeIntervalMs: ingest.probe_interval,
      maxOutageMs: ingest.max_outage,
      maxAttempts: ingest.max_attempts,
      maxPixels: ingest.max_pixels,
      maxFileBytes: ingest.max_file_bytes,
      minSide: ingest.min_side,
    },
    sources: {
      stagingPath: c.sources.staging.path,
      chinesebqbPath: c.sources.chinesebqb.path,
      chinesebqbEnabled: c.sources.chinesebqb.enabled,
    },
    recall: { synonyms: c.recall.synonyms },
    serve: {
      host: c.serve.host,
      port: c.serve.port,
      ...optional('publicUrl', c.serve.public_url),
      corsOrigins: c.serve.cors_origins,
      maxQueryChars: c.serve.max_query_chars,
      maxTopK: c.serve.max_top_k,
      maxBodyBytes: c.serve.max_body,
      maxSearches: c.serve.max_searches,
      maxQueued: c.serve.max_queued,
      requestTimeoutMs: c.serve.request_timeout,
      cacheEntries: c.serve.cache_entries,
    },
  };
}

/** Leaves optional keys out entirely rather than present-and-undefined, so deepEqual and spreads stay clean. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

/** EMOMO_DATABASE_URL wins over `database.url`. */
function resolveDatabaseUrl(url: string | undefined, env: NodeJS.ProcessEnv, problems: Problem[]): string | undefined {
  const fromEnv = env.EMOMO_DATABASE_URL?.trim();
  if (!fromEnv) return url;
  // The value is not echoed: it may carry a password.
  if (!isPostgresUrl(fromEnv)) problems.push({ key: 'database.url', problem: 'EMOMO_DATABASE_URL does not hold a postgres:// URL' });
  return fromEnv;
}

/** `base_url_env` wins over `base_url` when the variable is set and non-empty. */
function resolveBaseUrl(
  section: { base_url?: string | undefined; base_url_env?: string | undefined },
  key: string,
  env: NodeJS.ProcessEnv,
  problems: Problem[],
): string | undefined {
  const name = section.base_url_env;
  const fromEnv = name ? env[name]?.trim() : undefined;
  if (!fromEnv) return section.base_url;
  // The value is not echoed: a URL may carry credentials.
  if (!isHttpUrl(fromEnv)) problems.push({ key: `${key}.base_url_env`, problem: `${name} does not hold an http(s) URL` });
  return fromEnv;
}

/** The named embedding, or the default one. */
export function selectEmbedding(config: Config, name?: string): EmbeddingConfig {
  const found = name === undefined ? config.embeddings.find((e) => e.isDefault) : config.embeddings.find((e) => e.name === name);
  if (found) return found;
  const names = config.embeddings.map((e) => e.name).join(', ');
  if (name === undefined) throw new ConfigError(config.file, 'embeddings', 'no default embedding'); // the schema prevents this
  throw new UsageError(`unknown embedding "${name}"; configured in ${config.file}: ${names}`);
}

/**
 * The secret held by env variable `envName`, needed for `what`
 * (e.g. `embedding "jina"`). The error names the variable, never a value.
 */
export function requireSecret(env: NodeJS.ProcessEnv, envName: string | undefined, what: string): string {
  if (!envName) {
    throw new ConfigError('environment', '', `no API key variable configured for ${what}; set api_key_env in the config`);
  }
  const value = env[envName]?.trim();
  if (!value) throw new ConfigError('environment', envName, `must be set to the API key for ${what}`);
  return value;
}
