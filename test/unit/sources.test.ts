import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, promises as fs, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { UsageError } from '../../src/errors.js';
import type { Source, SourceEntry, SourceItem, SourceProblem } from '../../src/ports.js';
import { ChineseBqbSource } from '../../src/sources/chinesebqb-source.js';
import { DirSource } from '../../src/sources/dir-source.js';
import { cleanCategory, tagsFromFileName } from '../../src/sources/naming.js';
import { openSource } from '../../src/sources/open-source.js';
import { StagingSource } from '../../src/sources/staging-source.js';

/**
 * A fresh temp folder holding `files`, removed after the test. Content `->x` makes a symlink to x;
 * FIFO makes a named pipe, which blocks whoever opens it: finishing the test proves nobody read it.
 */
async function tree(t: TestContext, files: Record<string, string>): Promise<string> {
  const root = realpathSync(await fs.mkdtemp(path.join(os.tmpdir(), 'emomo-sources-')));
  t.after(() => fs.rm(root, { recursive: true, force: true }));
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(root, rel);
    await fs.mkdir(path.dirname(file), { recursive: true });
    if (content.startsWith('->')) await fs.symlink(content.slice(2), file);
    else if (content === FIFO) execFileSync('mkfifo', [file]); // POSIX only, like the symlinks here
    else await fs.writeFile(file, content);
  }
  return root;
}
const FIFO = '<fifo>';

async function collect(source: Source, signal?: AbortSignal): Promise<SourceEntry[]> {
  const out: SourceEntry[] = [];
  for await (const entry of source.entries(signal)) out.push(entry);
  return out;
}
const items = (es: SourceEntry[]): SourceItem[] => es.flatMap((e) => (e.kind === 'item' ? [e.item] : []));
const problems = (es: SourceEntry[]): SourceProblem[] => es.flatMap((e) => (e.kind === 'problem' ? [e.problem] : []));
const jsonl = (...rows: unknown[]): string => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

describe('StagingSource', () => {
  it('yields valid lines in manifest order with defaults and cleaned fields', async (t) => {
    const root = await tree(t, {
      's/manifest.jsonl': jsonl(
        { id: 'b', filename: 'b.png', category: '猫', tags: [' 开心 ', 3, '开心', '', '哈哈'], source_url: 'https://x/b', is_animated: true, format: 'gif', extra: 1 },
        { id: 'a', filename: 'sub/a.jpg' },
      ),
      's/images/b.png': 'x',
      's/images/sub/a.jpg': 'x',
    });
    const entries = await collect(new StagingSource(root, 's'));
    const images = path.join(root, 's/images');
    assert.deepEqual(entries, [
      { kind: 'item', item: { sourceType: 'staging:s', sourceId: 'b', path: path.join(images, 'b.png'), root: images, category: '猫', tags: ['开心', '哈哈'], sourceUrl: 'https://x/b' } },
      { kind: 'item', item: { sourceType: 'staging:s', sourceId: 'a', path: path.join(images, 'sub/a.jpg'), root: images, category: '未分类', tags: [] } },
    ]);
  });

  it('tolerates a BOM, CRLF and blank lines, and counts lines as the file does', async (t) => {
    const root = await tree(t, {
      's/manifest.jsonl': '\uFEFF{"id":"a","filename":"a.png"}\r\n\r\n   \r\n{"id":"b","filename":"nope.png"}\r\n',
      's/images/a.png': 'x',
    });
    const entries = await collect(new StagingSource(root, 's'));
    assert.equal(items(entries)[0]?.sourceId, 'a');
    const images = path.join(root, 's/images');
    // A missing file keeps its item, so that the job remembers where to look when retried.
    const item = { sourceType: 'staging:s', sourceId: 'b', path: path.join(images, 'nope.png'), root: images, category: '未分类', tags: [] };
    assert.deepEqual(problems(entries), [
      { sourceType: 'staging:s', sourceId: 'b', stage: 'read', reason: 'line 4: file not found: images/nope.png', permanent: false, item },
    ]);
  });

  it('turns malformed, incomplete and duplicate lines into problems and goes on', async (t) => {
    const root = await tree(t, {
      's/manifest.jsonl': jsonl({ id: 'a', filename: 'a.png' }, '{"id": "x", oops', '[1,2]', { filename: 'a.png' }, { id: 7, filename: 'a.png' }, { id: 'n' }, { id: 'a', filename: 'a.png' }, { id: 'c', filename: 'a.png' }),
      's/images/a.png': 'x',
    });
    const entries = await collect(new StagingSource(root, 's'));
    assert.deepEqual(items(entries).map((i) => i.sourceId), ['a', 'c']);
    const got = problems(entries).map((p) => [p.sourceId, p.stage, p.permanent, p.reason.replace(/\(.*\)$/, '()')]);
    assert.deepEqual(got, [
      ['line 2', 'source', true, 'line 2: malformed JSON ()'],
      ['line 3', 'source', true, 'line 3: not a JSON object'],
      ['line 4', 'source', true, 'line 4: missing or invalid "id"'],
      ['line 5', 'source', true, 'line 5: missing or invalid "id"'],
      ['n', 'source', true, 'line 6: missing or invalid "filename"'],
      ['line 7', 'source', true, 'line 7: duplicate id "a" ()'],
    ]);
    assert.match(problems(entries)[5]!.reason, /first on line 1/);
  });

  it('rejects filenames that escape images/, symlinks included, without reading the target', async (t) => {
    const root = await tree(t, {
      'outside/secret.png': 'secret',
      'outside/pipe.png': FIFO,
      's/images/ok.png': 'x',
      's/images/evil.png': '->../../outside/secret.png',
      's/images/pipe.png': '->../../outside/pipe.png',
      's/images/out': '->../../outside',
      's/images/alias.png': '->ok.png', // stays inside: allowed
    });
    const bad = ['../../etc/passwd', '/etc/passwd', 'sub/../../x.png', 'C:\\x.png', '..\\x.png', 'a\0.png', 'evil.png', 'pipe.png', 'out/secret.png'];
    const rows = bad.map((filename, i) => ({ id: `bad${i}`, filename }));
    await fs.writeFile(path.join(root, 's/manifest.jsonl'), jsonl(...rows, { id: 'alias', filename: 'alias.png' }));

    const entries = await collect(new StagingSource(root, 's'));
    assert.deepEqual(items(entries).map((i) => [i.sourceId, i.path]), [['alias', path.join(root, 's/images/ok.png')]]);
    const ps = problems(entries);
    assert.equal(ps.length, bad.length);
    for (const [i, p] of ps.entries()) {
      assert.equal(p.stage, 'source');
      assert.equal(p.permanent, true);
      assert.equal(p.reason, `line ${i + 1}: filename ${JSON.stringify(bad[i])} escapes images/`);
    }
  });

  it('throws a UsageError listing the staging ids that exist', async (t) => {
    const root = await tree(t, { 'sample/manifest.jsonl': '', 'fab/manifest.jsonl': '', 'empty/images/a.png': 'x' });
    await assert.rejects(collect(new StagingSource(root, 'nope')), (err: Error) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /Available: staging:fab, staging:sample\./);
      return true;
    });
    await assert.rejects(collect(new StagingSource(root, 'empty')), UsageError);
    await assert.rejects(collect(new StagingSource(path.join(root, 'missing'), 'x')), /does not exist/);
    assert.throws(() => new StagingSource(root, '../x'), UsageError);
  });

  it('refuses an images/ folder that leads outside the staging folder', async (t) => {
    const root = await tree(t, { 'elsewhere/a.png': 'x', 's/images': '->../elsewhere', 's/manifest.jsonl': jsonl({ id: 'a', filename: 'a.png' }) });
    await assert.rejects(collect(new StagingSource(root, 's')), /leads outside the staging folder/);
  });

  it('stops at the abort signal', async (t) => {
    const root = await tree(t, { 's/manifest.jsonl': jsonl({ id: 'a', filename: 'a' }, { id: 'b', filename: 'b' }), 's/images/x': '' });
    const ac = new AbortController();
    const seen: string[] = [];
    for await (const e of new StagingSource(root, 's').entries(ac.signal)) {
      if (e.kind === 'problem') seen.push(e.problem.sourceId);
      ac.abort();
    }
    assert.deepEqual(seen, ['a']);
  });

  it('streams a 200,000-line manifest with little heap growth', { timeout: 120_000 }, async (t) => {
    const root = await tree(t, { 's/images/a.png': 'x' });
    const out = createWriteStream(path.join(root, 's/manifest.jsonl'));
    const note = 'n'.repeat(300); // ~75 MB on disk: loading it whole would blow the budget below
    for (let i = 0; i < 200_000; i++) {
      if (!out.write(`{"id":"id${i}","filename":"a.png","tags":["开心"],"note":"${note}"}\n`)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');

    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const base = process.memoryUsage().heapUsed;
    let peak = 0;
    let count = 0;
    for await (const e of new StagingSource(root, 's').entries()) {
      assert.equal(e.kind, 'item');
      if (++count % 25_000 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed - base);
      }
    }
    assert.equal(count, 200_000);
    assert.ok(peak < 64 * 1024 * 1024, `heap grew by ${(peak / 1048576).toFixed(1)} MB`);
  });
});

describe('ChineseBqbSource', () => {
  it('walks images in a stable order with category and tags from the names', async (t) => {
    const tmp = await tree(t, {
      'elsewhere/x.gif': 'x',
      'bqb/001Funny_滑稽大佬😏BQB/滑稽大佬00002-哈哈-抱拳.jpg': 'x',
      'bqb/001Funny_滑稽大佬😏BQB/滑稽大佬00001-抱拳.gif': 'x',
      'bqb/001Funny_滑稽大佬😏BQB/index.md': '# x',
      'bqb/001Funny_滑稽大佬😏BQB/.DS_Store': 'x',
      'bqb/001Funny_滑稽大佬😏BQB/._shadow.png': 'x',
      'bqb/002CuteGirl_可爱的女孩纸👧BQB/CuteGirl00191.PNG': 'x',
      'bqb/000Contribution_贡献🇨🇳/moe/a.webp': 'x',
      'bqb/.git/objects/b.png': 'x',
      'bqb/README.md': '# x',
      'bqb/top.jpg': 'x',
      'bqb/link-in.gif': '->top.jpg',
      'bqb/link-out.gif': '->../elsewhere/x.gif',
    });
    const root = path.join(tmp, 'bqb');
    const entries = await collect(new ChineseBqbSource(root));
    assert.deepEqual(items(entries).map((i) => [i.sourceId, i.category, i.tags]), [
      ['000Contribution_贡献🇨🇳/moe/a.webp', 'moe', ['moe']],
      ['001Funny_滑稽大佬😏BQB/滑稽大佬00001-抱拳.gif', '滑稽大佬', ['滑稽大佬', '抱拳']],
      ['001Funny_滑稽大佬😏BQB/滑稽大佬00002-哈哈-抱拳.jpg', '滑稽大佬', ['滑稽大佬', '哈哈', '抱拳']],
      ['002CuteGirl_可爱的女孩纸👧BQB/CuteGirl00191.PNG', '可爱的女孩纸', ['可爱的女孩纸', 'cute', 'girl']],
      ['link-in.gif', '未分类', ['link', 'in']],
      ['top.jpg', '未分类', ['top']],
    ]);
    assert.equal(items(entries)[4]?.path, path.join(root, 'top.jpg'));
    assert.deepEqual(problems(entries).map((p) => [p.sourceId, p.stage]), [['link-out.gif', 'source']]);
    assert.deepEqual(await collect(new ChineseBqbSource(root)), entries, 'same order on every run');
    await assert.rejects(collect(new ChineseBqbSource(path.join(root, 'nope'))), UsageError);
  });

  it('cleans folder names and file names', () => {
    assert.equal(cleanCategory('001Funny_滑稽大佬😏BQB'), '滑稽大佬');
    assert.equal(cleanCategory('014猪_Pig🐖BQB'), '猪');
    assert.equal(cleanCategory('023Emoji_BQB'), 'Emoji');
    assert.equal(cleanCategory('😏'), '😏');
    assert.deepEqual(tagsFromFileName('GoldenCuratorPanda00198.png'), ['golden', 'curator', 'panda']);
    assert.deepEqual(tagsFromFileName('IMG_5666.JPG'), []);
    assert.deepEqual(tagsFromFileName('AKZ{4%1(IEUIZ3O]FX5TPTU.jpg'), []);
    assert.equal(tagsFromFileName('a-一-二-三-四-五-六.png').length, 5);
  });
});

describe('DirSource', () => {
  it('offers every regular file but hidden files and documents', async (t) => {
    const root = await tree(t, {
      'fake.png': '<svg xmlns="http://www.w3.org/2000/svg"/>',
      'README.md': '# x',
      'notes.TXT': 'x',
      'Thumbs.db': 'x',
      '.hidden.png': 'x',
      '猫/开心/doge-开心.jpg': 'x',
      'noext': 'x',
      'pipe.png': FIFO, // never offered: opening it would hang the run
    });
    const source = new DirSource(root);
    assert.equal(source.type, `dir:${root}`);
    const entries = await collect(source);
    assert.equal(problems(entries).length, 0);
    assert.deepEqual(items(entries).map((i) => [i.sourceId, i.category, i.tags]), [
      ['fake.png', '未分类', ['fake']],
      ['noext', '未分类', ['noext']],
      ['猫/开心/doge-开心.jpg', '猫/开心', ['猫', '开心', 'doge']],
    ]);
  });
});

describe('openSource', () => {
  const paths = { stagingPath: '/nonexistent/staging', chinesebqbPath: '/nonexistent/bqb' };

  it('parses the three forms', async (t) => {
    const dir = await tree(t, { 'a.png': 'x' });
    assert.equal(openSource('staging:sample', paths).type, 'staging:sample');
    assert.equal(openSource('chinesebqb', paths).type, 'chinesebqb');
    assert.equal(openSource(`dir:${dir}`, paths).type, `dir:${dir}`);
  });

  it('rejects anything else with a message that shows the accepted forms', () => {
    for (const spec of ['', 'staging:', 'staging:../x', 'staging:a/b', 'staging:..', 'dir:', 'dir:/nonexistent/x', 'fabiaoqing', 'http://x']) {
      assert.throws(() => openSource(spec, paths), (err: Error) => {
        assert.ok(err instanceof UsageError, spec);
        assert.match(err.message, /staging:<id>.*chinesebqb.*dir:<path>/);
        return true;
      });
    }
    assert.throws(() => openSource('fabiaoqing', paths), /did you mean staging:fabiaoqing/);
  });
});
