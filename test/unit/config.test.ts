import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { after, describe, it } from 'node:test';
import YAML from 'yaml';
import { createApp } from '../../src/app.js';
import { parseDuration } from '../../src/config/duration.js';
import { BUILT_IN_DEFAULTS, loadConfig, requireSecret, selectEmbedding } from '../../src/config/load.js';
import { ConfigError, UsageError } from '../../src/errors.js';

const SHIPPED = new URL('../../configs/config.yaml', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'emomo-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function writeConfig(text: string): string {
  const file = join(dir, `config-${++counter}.yaml`);
  writeFileSync(file, text);
  return file;
}

const LOCAL_EMBEDDING = `embeddings:
  - name: local
    provider: local
    dimensions: 512
    collection: emomo-local
`;

/** The ConfigError thrown by loading `text`; fails the test if none is thrown. */
function configErrorFor(text: string, env: NodeJS.ProcessEnv = {}): { file: string; message: string } {
  const file = writeConfig(text);
  try {
    loadConfig(file, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return { file, message: err.message };
  }
  assert.fail('expected loadConfig to throw');
}

describe('loadConfig: shipped and default configs', () => {
  it('loads the shipped configs/config.yaml, offline and keyless', () => {
    const config = loadConfig(SHIPPED, {});
    assert.equal(config.vlm.provider, 'local');
    assert.equal(config.embeddings.length, 1);
    assert.ok(config.embeddings.every((e) => e.provider === 'local' && e.apiKeyEnv === undefined));
    assert.deepEqual(selectEmbedding(config), {
      name: 'local', provider: 'local', input: 'text', model: 'local-lexical-v1', dimensions: 512,
      collection: 'emomo-local', isDefault: true, batchSize: 32, timeoutMs: 30_000, concurrency: 4,
    });
    assert.equal(config.storage.type, 'local');
    // Paths written in the file are relative to the file: the project's data/ from any working folder.
    const project = path.resolve(path.dirname(SHIPPED), '..');
    assert.equal(config.database.path, path.join(project, 'data', 'emomo.db'));
    assert.equal(config.sources.stagingPath, path.join(project, 'staging'));
  });

  it('relative paths written in a config resolve against its folder; defaults against the working folder', () => {
    const file = writeConfig('database:\n  path: lib/emomo.db\nstorage:\n  path: /abs/objects\n');
    const config = loadConfig(file, {});
    assert.equal(config.database.path, path.join(path.dirname(file), 'lib', 'emomo.db'));
    assert.equal(config.storage.path, '/abs/objects');
    assert.equal(config.sources.stagingPath, 'staging');
  });

  it('the shipped commented-out blocks are valid once enabled', () => {
    // Uncomment the example blocks (not the header prose); the enabled vlm / storage replace the active ones.
    const lines = readFileSync(SHIPPED, 'utf8').split('\n');
    const start = lines.indexOf('database:');
    const enabled = lines.map((l, i) => (i < start ? l : l.replace(/^(\s*)# (?=- | {2}|vlm:|storage:)/, '$1')));
    const file = writeConfig(YAML.stringify(YAML.parse(enabled.join('\n'), { uniqueKeys: false })));
    const config = loadConfig(file, { STORAGE_ENDPOINT: 'https://acct.r2.cloudflarestorage.com' });
    assert.deepEqual(config.embeddings.map((e) => [e.name, e.provider, e.input, e.dimensions]), [
      ['local', 'local', 'text', 512], ['jina', 'jina', 'text', 1024], ['qwen3', 'modelscope', 'text', 4096],
      ['pictures', 'local', 'image', 192], ['clip', 'jina', 'image', 1024], ['openai', 'openai', 'text', 1536],
    ]);
    assert.equal(config.vlm.model, 'gpt-4o-mini');
    assert.equal(config.storage.bucket, 'emomo');
  });

  it('uses built-in defaults when no file is given and none exists in the cwd', () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const config = loadConfig(undefined, {});
      assert.equal(config.file, BUILT_IN_DEFAULTS);
      assert.deepEqual(config.embeddings.map((e) => [e.name, e.dimensions, e.collection, e.isDefault]), [
        ['local', 512, 'emomo-local', true],
      ]);
      assert.deepEqual(config.ingest, {
        workers: 8, batchSize: 100, retryCount: 3, probeIntervalMs: 5_000, maxOutageMs: 600_000,
        maxAttempts: 6, maxPixels: 50_000_000, maxFileBytes: 50 * 1024 * 1024, minSide: 0,
      });
      assert.equal(config.vlm.timeoutMs, 60_000);
      assert.deepEqual(config.sources, { stagingPath: 'staging', chinesebqbPath: 'data/ChineseBQB', chinesebqbEnabled: true });
    } finally {
      process.chdir(cwd);
    }
  });

  it('a missing file named explicitly is an error', () => {
    const missing = join(dir, 'nope.yaml');
    assert.throws(() => loadConfig(missing, {}), { name: 'ConfigError', message: `${missing}: file not found` });
  });

  it('the first embedding is the default when none is marked', () => {
    const config = loadConfig(writeConfig(`embeddings:
  - {name: a, provider: local, dimensions: 8, collection: a}
  - {name: b, provider: local, dimensions: 8, collection: b}
`), {});
    assert.deepEqual(config.embeddings.map((e) => e.isDefault), [true, false]);
  });

  it('input: image makes a picture collection; the offline one has its own model and dimension', () => {
    const config = loadConfig(writeConfig(`embeddings:
  - {name: text, provider: local, dimensions: 8, collection: a}
  - {name: pictures, provider: local, input: image, dimensions: 192, collection: p}
  - {name: clip, provider: jina, input: image, model: jina-clip-v2, dimensions: 1024, collection: c}
`), {});
    assert.deepEqual(config.embeddings.map((e) => [e.name, e.input, e.model]), [
      ['text', 'text', 'local-lexical-v1'],
      ['pictures', 'image', 'local-picture-v1'],
      ['clip', 'image', 'jina-clip-v2'],
    ]);
    const { file, message } = configErrorFor('embeddings:\n  - {name: p, provider: local, input: image, dimensions: 512, collection: p}\n');
    assert.equal(message, `${file}: embeddings[0].dimensions: must be 192: the offline picture signature has 192 dimensions`);
    assert.match(configErrorFor('embeddings:\n  - {name: p, provider: local, input: video, dimensions: 8, collection: p}\n').message, /embeddings\[0\]\.input/);
  });
});

describe('loadConfig: every error names the file and the key', () => {
  it('recall.synonyms: term → words (numbers read as words); anything else names the key', () => {
    const config = loadConfig(writeConfig('recall:\n  synonyms:\n    栓Q: [无语, 无奈]\n    "886": [88, 拜拜]\n'), {});
    assert.deepEqual(config.recall.synonyms, { 栓Q: ['无语', '无奈'], 886: ['88', '拜拜'] });
    assert.deepEqual(loadConfig(writeConfig('recall:\n  synonyms:\n'), {}).recall.synonyms, {});
    const { message } = configErrorFor('recall:\n  synonyms:\n    栓Q: 无语\n');
    assert.match(message, /recall\.synonyms\.栓Q: expected a list of words/);
  });

  it('bad dimension type', () => {
    const { file, message } = configErrorFor(LOCAL_EMBEDDING.replace('512', 'abc'));
    assert.equal(message, `${file}: embeddings[0].dimensions: expected a positive integer, got "abc"`);
  });

  it('unknown key (typo) with a suggestion', () => {
    const { file, message } = configErrorFor(LOCAL_EMBEDDING.replace('dimensions', 'dimension'));
    assert.match(message, new RegExp(`^${file}: embeddings\\[0\\]\\.dimension: unknown key \\(did you mean "dimensions"\\?\\)$`, 'm'));
    assert.match(message, /embeddings\[0\]\.dimensions: is required/);
  });

  it('duplicate names and collections', () => {
    const { file, message } = configErrorFor(`embeddings:
  - {name: a, provider: local, dimensions: 8, collection: c}
  - {name: a, provider: local, dimensions: 8, collection: c}
`);
    assert.match(message, new RegExp(`^${file}: embeddings\\[1\\]\\.name: duplicate name "a"`, 'm'));
    assert.match(message, new RegExp(`^${file}: embeddings\\[1\\]\\.collection: duplicate collection "c"`, 'm'));
  });

  it('two defaults, naming both', () => {
    const { file, message } = configErrorFor(`embeddings:
  - {name: jina, provider: jina, model: m, dimensions: 8, collection: a, is_default: true}
  - {name: qwen3, provider: local, dimensions: 8, collection: b, is_default: true}
`);
    assert.equal(message, `${file}: embeddings: is_default is true on "jina" and "qwen3"; mark exactly one`);
  });

  it('missing bucket for s3', () => {
    const { file, message } = configErrorFor('storage:\n  type: s3\n');
    assert.equal(message, `${file}: storage.bucket: is required when type is s3`);
  });

  it('openai vlm without a model', () => {
    const { file, message } = configErrorFor('vlm:\n  provider: openai\n');
    assert.equal(message, `${file}: vlm.model: is required when provider is openai (e.g. gpt-4o-mini)`);
  });

  it('YAML syntax error with its line', () => {
    const { file, message } = configErrorFor('vlm:\n  provider: local\nembeddings: [a, b\nstorage: {}\n');
    assert.match(message, new RegExp(`^${file}: line 4, column 1: `));
  });

  it('reports all problems at once, one per line', () => {
    const { message } = configErrorFor(`vlm:
  timeout: soon
  api_key_env: sk-secret-value
ingest:
  workers: 0
sources:
  chinesebqb:
    enabled: yes
`);
    const lines = message.split('\n');
    assert.equal(lines.length, 4, message);
    assert.match(message, /vlm\.timeout: expected a duration .*, got "soon"/);
    assert.match(message, /ingest\.workers: expected an integer from 1 to 256, got 0/);
    assert.match(message, /sources\.chinesebqb\.enabled: expected true or false, got "yes"/);
    assert.match(message, /vlm\.api_key_env: expected the name of an environment variable/);
    assert.doesNotMatch(message, /sk-secret-value/);
  });

  it('ingest.max_file_bytes takes a size with a unit or bytes', () => {
    const size = (v: string) => loadConfig(writeConfig(`ingest:\n  max_file_bytes: ${v}\n`), {}).ingest.maxFileBytes;
    assert.equal(size('50MiB'), 50 * 1024 * 1024);
    assert.equal(size('"800 KB"'), 800_000);
    assert.equal(size('1048576'), 1_048_576);
    assert.match(configErrorFor('ingest:\n  max_file_bytes: lots\n').message, /ingest\.max_file_bytes: expected a size such as "50MiB".*, got "lots"/);
    assert.match(configErrorFor('ingest:\n  max_file_bytes: 0\n').message, /ingest\.max_file_bytes: must be larger than 0/);
  });

  it('refuses a library that cannot persist or whose objects folder is not its own', () => {
    const memory = configErrorFor('database:\n  path: ":memory:"\n');
    assert.equal(memory.message, `${memory.file}: database.path: an in-memory database persists nothing (every object stored would be an orphan); give a file such as data/emomo.db`);
    assert.match(configErrorFor('storage:\n  path: /\n').message, /storage\.path: is the root of the file system; give objects a folder of their own/);
    for (const objects of ['data', '.', 'data/']) {
      const { message } = configErrorFor(`database:\n  path: data/emomo.db\nstorage:\n  path: ${objects}\n`);
      assert.match(message, /storage\.path: holds the database \(data\/emomo\.db\); give objects a folder of their own/, objects);
    }
    assert.match(configErrorFor('database:\n  path: data/objects/x.db\n').message, /storage\.path: holds the database/);
    // S3 storage keeps no local folder: its path is not checked.
    assert.doesNotThrow(() => loadConfig(writeConfig('storage:\n  type: s3\n  bucket: b\n  path: /\n'), {}));
    const separate = writeConfig('database:\n  path: lib/emomo.db\nstorage:\n  path: lib/objects\n');
    assert.equal(loadConfig(separate, {}).storage.path, path.join(path.dirname(separate), 'lib', 'objects'));
  });

  it('--db gets the same checks, naming the flag', () => {
    const file = writeConfig('database:\n  path: lib/emomo.db\nstorage:\n  path: lib/objects\n');
    assert.throws(() => createApp({ configPath: file, dbPath: ':memory:', env: {} }), (err: Error) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /^--db :memory:: an in-memory database persists nothing/);
      return true;
    });
    // --db is relative to the working folder, storage.path to the config file's folder.
    const inside = path.join(path.dirname(file), 'lib', 'objects', 'emomo.db');
    assert.throws(() => createApp({ configPath: file, dbPath: inside, env: {} }), (err: Error) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /^--db .*emomo\.db: the object folder \(storage\.path .*lib\/objects\) holds the database/);
      return true;
    });
    assert.equal(createApp({ configPath: file, dbPath: 'lib/other.db', env: {} }).dbPath, 'lib/other.db');
  });

  it('provider timeouts, embedding concurrency and the outage keys', () => {
    const config = loadConfig(writeConfig(`ingest:
  probe_interval: 500ms
  max_outage: 2m
embeddings:
  - {name: j, provider: jina, model: jina-embeddings-v3, dimensions: 8, collection: j, timeout: 2m, concurrency: 12}
`), {});
    assert.deepEqual([config.ingest.probeIntervalMs, config.ingest.maxOutageMs], [500, 120_000]);
    assert.deepEqual([config.embeddings[0]!.timeoutMs, config.embeddings[0]!.concurrency], [120_000, 12]);
    const { message } = configErrorFor(`ingest:
  max_outage: never
embeddings:
  - {name: j, provider: local, dimensions: 8, collection: j, concurrency: 0}
`);
    assert.match(message, /ingest\.max_outage: expected a duration/);
    assert.match(message, /embeddings\[0\]\.concurrency: expected a positive integer, got 0/);
  });

  it('an inline api_key is refused without echoing it', () => {
    const { message } = configErrorFor(`${LOCAL_EMBEDDING}    api_key: sk-inline-secret\n`);
    assert.match(message, /embeddings\[0\]\.api_key: unknown key; put the key in an environment variable/);
    assert.doesNotMatch(message, /sk-inline-secret/);
  });
});

describe('loadConfig: environment', () => {
  it('substitutes ${VAR} and ${VAR:-default}, numbers included', () => {
    const file = writeConfig(`vlm:
  provider: openai
  model: \${VLM_MODEL:-gpt-4o-mini}
  base_url: https://\${HOST}/v1
ingest:
  workers: \${WORKERS:-4}
${LOCAL_EMBEDDING}`);
    const config = loadConfig(file, { HOST: 'openrouter.ai', WORKERS: '16' });
    assert.equal(config.vlm.model, 'gpt-4o-mini');
    assert.equal(config.vlm.baseUrl, 'https://openrouter.ai/v1');
    assert.equal(config.vlm.apiKeyEnv, 'OPENAI_API_KEY');
    assert.equal(config.ingest.workers, 16);
    assert.equal(loadConfig(file, { HOST: 'h', VLM_MODEL: 'qwen-vl' }).vlm.model, 'qwen-vl');
  });

  it('an unset variable without default names the key and the variable', () => {
    const { file, message } = configErrorFor('storage:\n  type: s3\n  bucket: ${BUCKET}\n');
    assert.equal(message, `${file}: storage.bucket: environment variable BUCKET is not set (set it, or write \${BUCKET:-default})`);
  });

  it('base_url_env wins over base_url when set', () => {
    const file = writeConfig(`embeddings:
  - name: qwen3
    provider: modelscope
    model: Qwen/Qwen3-Embedding-8B
    base_url: https://fallback.example/v1
    base_url_env: MODELSCOPE_BASE_URL
    dimensions: 4096
    collection: emomo-qwen3-embedding-8b
`);
    const fromEnv = loadConfig(file, { MODELSCOPE_BASE_URL: 'https://api-inference.modelscope.cn/v1' });
    assert.equal(fromEnv.embeddings[0]?.baseUrl, 'https://api-inference.modelscope.cn/v1');
    assert.equal(fromEnv.embeddings[0]?.apiKeyEnv, 'MODELSCOPE_API_KEY');
    assert.equal(loadConfig(file, {}).embeddings[0]?.baseUrl, 'https://fallback.example/v1');
    assert.throws(() => loadConfig(file, { MODELSCOPE_BASE_URL: 'not a url' }), {
      message: `${file}: embeddings[0].base_url_env: MODELSCOPE_BASE_URL does not hold an http(s) URL`,
    });
  });

  it('does not read API keys while loading', () => {
    const file = writeConfig('embeddings:\n  - {name: j, provider: jina, model: m, dimensions: 8, collection: j}\n');
    const config = loadConfig(file, { JINA_API_KEY: 'jina-secret' });
    assert.doesNotMatch(JSON.stringify(config), /jina-secret/);
    assert.equal(config.embeddings[0]?.apiKeyEnv, 'JINA_API_KEY');
  });
});

describe('selectEmbedding', () => {
  const config = loadConfig(writeConfig(`embeddings:
  - {name: local, provider: local, dimensions: 8, collection: a}
  - {name: jina, provider: jina, model: jina-embeddings-v3, dimensions: 8, collection: b, is_default: true}
`), {});

  it('returns the default or the named one', () => {
    assert.equal(selectEmbedding(config).name, 'jina');
    assert.equal(selectEmbedding(config, 'local').name, 'local');
  });

  it('an unknown name is a UsageError listing the configured names', () => {
    assert.throws(() => selectEmbedding(config, 'qwen3'), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /unknown embedding "qwen3".*: local, jina$/);
      return true;
    });
  });
});

describe('requireSecret', () => {
  it('returns the value when set', () => {
    assert.equal(requireSecret({ JINA_API_KEY: 'jina-123' }, 'JINA_API_KEY', 'embedding "jina"'), 'jina-123');
  });

  it('names the variable and the purpose, never a value', () => {
    const env = { JINA_API_KEY: '  ', OTHER_KEY: 'sk-other-secret' };
    assert.throws(() => requireSecret(env, 'JINA_API_KEY', 'embedding "jina"'), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, 'environment: JINA_API_KEY: must be set to the API key for embedding "jina"');
      return true;
    });
    assert.throws(() => requireSecret(env, undefined, 'the VLM'), /no API key variable configured for the VLM/);
  });
});

describe('parseDuration', () => {
  it('accepts units and bare seconds', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('3s'), 3_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1.5s'), 1_500);
    assert.equal(parseDuration('10'), 10_000);
    assert.equal(parseDuration(2), 2_000);
    assert.equal(parseDuration(' 0s '), 0);
  });

  it('rejects garbage with a clear message', () => {
    for (const bad of ['', 'soon', '3 s', '-1s', '5d', 's', '1e3']) {
      assert.throws(() => parseDuration(bad), { message: new RegExp(`^invalid duration ${JSON.stringify(bad)}`) });
    }
    assert.throws(() => parseDuration(-1), /invalid duration/);
    assert.throws(() => parseDuration(Number.NaN), /invalid duration/);
  });
});
