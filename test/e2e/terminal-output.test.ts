/**
 * Crawled data carrying terminal escape sequences (ESC/CSI, OSC, CR, C1,
 * bidi overrides) in ids, categories and tags: the spawned CLI prints the
 * failure list and the recall table with all of them escaped, while --json
 * still gives the exact values.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { writeGeneratedStaging } from '../helpers/generated-images.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const CATEGORY = '猫\x1b[31m红\x1b]0;pwned\x07';
const BAD_ID = 'bad\x1b[2J\r\u202egnp';

describe('terminal output from hostile data (CLI)', () => {
  let ws: Workspace;
  before(async () => {
    ws = makeWorkspace();
    await writeGeneratedStaging(ws.staging, 'evil', 2);
    const dir = path.join(ws.staging, 'evil');
    fs.writeFileSync(path.join(dir, 'images', 'bad.png'), 'not an image');
    const lines = [
      { id: 'g0', filename: 'g00000.png', category: CATEGORY, tags: ['\x1b]52;c;cHduZWQ=\x07', 'a\rb'] },
      { id: 'g1', filename: 'g00001.png', category: '熊猫头' },
      { id: BAD_ID, filename: 'bad.png' },
    ];
    fs.writeFileSync(path.join(dir, 'manifest.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  });
  after(() => ws.cleanup());

  test('the failure list and the recall table show escapes, never the control characters; --json is exact', async () => {
    const ingest = await runCli(['--config', ws.config, 'ingest', '--source', 'staging:evil']);
    assert.equal(ingest.code, 1, ingest.stderr);
    assert.doesNotMatch(ingest.stderr, CONTROL);
    assert.match(ingest.stderr, /bad\\x1b\[2J\\r\\u202egnp/);

    const recall = await runCli(['--config', ws.config, 'recall', '熊猫头', '--mode', 'vector']);
    assert.equal(recall.code, 0, recall.stderr);
    assert.doesNotMatch(recall.stdout, CONTROL);
    assert.match(recall.stdout, /猫\\x1b\[31m红/);

    const json = await runCli(['--config', ws.config, '--json', 'recall', '熊猫头', '--mode', 'vector']);
    const hits = (JSON.parse(json.stdout) as { results: Array<{ category: string }> }).results;
    assert.ok(hits.some((h) => h.category === CATEGORY), 'the exact value in JSON');
  });
});
