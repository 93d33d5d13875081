/**
 * The offline describer against the real PaddleOCR models. No test here
 * renders text: CI machines have no CJK font, so captions come from the
 * committed sample set (staging/sample), whose images already carry them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { ItemError } from '../../src/errors.js';
import { LocalDescriber } from '../../src/providers/vlm/local-describer.js';
import { captionLines, composeDescription, type OcrLine } from '../../src/providers/vlm/local-description.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SAMPLE = path.join(ROOT, 'staging/sample');

interface SampleEntry {
  filename: string;
  caption: string;
  category: string;
  tags: string[];
}

function readSample(): SampleEntry[] {
  return readFileSync(path.join(SAMPLE, 'manifest.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as SampleEntry);
}

/** The image as the pipeline hands it to a describer (see DescribeInput.frames). */
function asVlmInput(file: string | Buffer): Promise<Buffer> {
  return sharp(file, { pages: 1 })
    .flatten({ background: '#fff' })
    .resize(768, 768, { fit: 'inside', withoutEnlargement: true })
    .jpeg()
    .toBuffer();
}

const sampleImage = (filename: string) => path.join(SAMPLE, 'images', filename);
const comparable = (text: string) => text.replace(/[\s\p{P}\p{S}]/gu, '').toLowerCase();

/** The caption of one frame, one row per line. */
const captionFromLines = (lines: OcrLine[], minConfidence: number): string => captionLines(lines, minConfidence).join('\n');

function line(text: string, confidence: number, x: number, y: number, w = 100, h = 40): OcrLine {
  return { text, confidence, box: [[x, y], [x + w, y], [x + w, y + h], [x, y + h]] };
}

describe('captionFromLines', () => {
  it('orders rows top to bottom and boxes left to right within a row', () => {
    const lines = [line('下面', 0.99, 10, 300), line('右边', 0.99, 200, 12), line('左边', 0.99, 10, 10)];
    assert.equal(captionFromLines(lines, 0.7), '左边右边\n下面');
  });

  it('drops lines below the confidence threshold and lone non-Han characters', () => {
    const lines = [line('我太难了', 0.98, 10, 10), line('噪', 0.55, 10, 100), line('e', 0.99, 10, 200), line('OK', 0.99, 10, 300)];
    assert.equal(captionFromLines(lines, 0.7), '我太难了\nOK');
  });

  it('removes spaces between CJK characters but keeps them between Latin words', () => {
    assert.equal(captionFromLines([line(' 我 太 难 了 ', 0.9, 0, 0)], 0.7), '我太难了');
    assert.equal(captionFromLines([line('hello   world 你 好', 0.9, 0, 0)], 0.7), 'hello world 你好');
  });

  it('keeps lines without a box after the placed ones', () => {
    assert.equal(captionFromLines([{ text: '无框', confidence: 0.9 }, line('有框', 0.9, 0, 0)], 0.7), '有框\n无框');
  });

  it('is empty when nothing was read', () => {
    assert.equal(captionFromLines([], 0.7), '');
  });
});

describe('composeDescription', () => {
  it('follows the template', () => {
    const d = composeDescription({ category: '熊猫头', tags: ['熊猫头', '无奈', '搞笑'], ocrText: '我太难了' });
    assert.equal(d.description, '熊猫头表情包，配文「我太难了」，标签：无奈、搞笑');
    assert.deepEqual(d.emotions, ['无奈', '搞笑']);
  });

  it('handles no caption, no category, no tags and multi-line captions', () => {
    assert.equal(composeDescription({ category: '', tags: [], ocrText: '' }).description, '表情包，无配文');
    assert.equal(
      composeDescription({ category: '猫猫表情包', tags: [' 开心 ', '开心', ''], ocrText: '今天\n也很开心' }).description,
      '猫猫表情包，配文「今天 也很开心」，标签：开心',
    );
  });

  it('takes emotions only from tags in the emotion word list', () => {
    const d = composeDescription({ category: '柴犬', tags: ['柴犬', '工作', '震惊', 'EMO'], ocrText: '开心' });
    assert.deepEqual(d.emotions, ['震惊', 'EMO']);
  });
});

describe('LocalDescriber', () => {
  let describer: LocalDescriber;
  let loadMs = 0;

  before(async () => {
    const start = performance.now();
    describer = await LocalDescriber.create();
    loadMs = performance.now() - start;
  });
  after(() => describer.close());

  it('has a model identity and a prompt version', (t) => {
    t.diagnostic(`model load ${loadMs.toFixed(0)} ms`);
    assert.equal(describer.model, 'local-ocr/ppocr-v4');
    assert.equal(describer.promptVersion, 'local-1');
  });

  it('reads the manifest caption of at least 90% of the sample set', async (t) => {
    const sample = readSample();
    assert.ok(sample.length >= 10, `staging/sample has only ${sample.length} entries`);
    const misses: string[] = [];
    const times: number[] = [];
    for (const entry of sample) {
      const jpeg = await asVlmInput(sampleImage(entry.filename));
      const start = performance.now();
      const result = await describer.describe({ frames: [jpeg], category: entry.category, tags: entry.tags });
      times.push(performance.now() - start);
      if (comparable(result.ocrText) !== comparable(entry.caption)) {
        misses.push(`${entry.filename}: expected ${entry.caption}, read ${JSON.stringify(result.ocrText)}`);
      }
      assert.ok(result.description.includes(entry.category), result.description);
    }
    const accuracy = (sample.length - misses.length) / sample.length;
    times.sort((a, b) => a - b);
    t.diagnostic(`accuracy ${(accuracy * 100).toFixed(1)}% of ${sample.length}; median ${times[times.length >> 1]!.toFixed(0)} ms per image`);
    for (const miss of misses) t.diagnostic(miss);
    assert.ok(accuracy >= 0.9, `only ${(accuracy * 100).toFixed(1)}% read correctly:\n${misses.join('\n')}`);
  });

  it('reads stacked captions top to bottom and side-by-side ones left to right', async () => {
    const [first, second] = readSample();
    assert.ok(first && second);
    const still = (entry: SampleEntry) =>
      sharp(sampleImage(entry.filename), { pages: 1 }).flatten({ background: '#fff' }).resize({ width: 300, height: 300, fit: 'fill' }).png().toBuffer();
    const [a, b] = await Promise.all([still(first), still(second)]);
    const canvas = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#fff' } });

    const stacked = await canvas(300, 600).composite([{ input: a, left: 0, top: 0 }, { input: b, left: 0, top: 300 }]).jpeg().toBuffer();
    const sideBySide = await canvas(600, 300).composite([{ input: a, left: 0, top: 0 }, { input: b, left: 300, top: 0 }]).jpeg().toBuffer();

    const down = await describer.describe({ frames: [stacked], category: '', tags: [] });
    assert.deepEqual(down.ocrText.split('\n').map(comparable), [comparable(first.caption), comparable(second.caption)]);
    const across = await describer.describe({ frames: [sideBySide], category: '', tags: [] });
    assert.equal(comparable(across.ocrText), comparable(first.caption + second.caption));
  });

  it('gives an image without text an empty caption and still a description', async () => {
    const shapes = Buffer.from(
      `<svg width="400" height="400" xmlns="http://www.w3.org/2000/svg"><rect width="100%" height="100%" fill="#fff"/>
       <circle cx="200" cy="180" r="120" fill="#f0c070"/><circle cx="160" cy="150" r="14"/><circle cx="240" cy="150" r="14"/>
       <path d="M140 220 Q200 280 260 220" stroke="#000" stroke-width="8" fill="none"/></svg>`,
    );
    for (const jpeg of [await asVlmInput(shapes), await asVlmInput(await sharp({ create: { width: 64, height: 64, channels: 3, background: '#fff' } }).png().toBuffer())]) {
      const result = await describer.describe({ frames: [jpeg], category: '柴犬', tags: ['柴犬', '开心'] });
      assert.equal(result.ocrText, '');
      assert.equal(result.description, '柴犬表情包，无配文，标签：开心');
      assert.deepEqual(result.emotions, ['开心']);
    }
  });

  it('gives the same answers to concurrent calls as to sequential ones', async () => {
    const entries = readSample().slice(0, 4);
    const inputs = await Promise.all(entries.map((e) => asVlmInput(sampleImage(e.filename))));
    const concurrent = await Promise.all(inputs.map((jpeg) => describer.describe({ frames: [jpeg], category: '', tags: [] })));
    for (const [i, jpeg] of inputs.entries()) {
      assert.deepEqual(await describer.describe({ frames: [jpeg], category: '', tags: [] }), concurrent[i]);
    }
  });

  it('reads the same with one OCR thread (whole images) as with detection and recognition on two', async () => {
    const inputs = await Promise.all(readSample().slice(0, 6).map((e) => asVlmInput(sampleImage(e.filename))));
    const [one, two] = await Promise.all([LocalDescriber.create({ workers: 1 }), LocalDescriber.create({ workers: 2 })]);
    try {
      const read = (d: LocalDescriber) => Promise.all(inputs.map((jpeg) => d.describe({ frames: [jpeg], category: '', tags: [] })));
      assert.deepEqual(await read(two), await read(one));
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('merges the captions of several frames, read in parallel', async () => {
    const [first, second] = readSample();
    const frames = await Promise.all([first!, second!].map((e) => asVlmInput(sampleImage(e.filename))));
    const result = await describer.describe({ frames, category: '', tags: [] });
    assert.deepEqual(result.ocrText.split('\n').map(comparable), [comparable(first!.caption), comparable(second!.caption)]);
  });

  it('fails a corrupt image as a permanent describe error, and keeps working', async () => {
    const err = await describer.describe({ frames: [Buffer.from('not a jpeg')], category: '', tags: [] }).catch((e: unknown) => e);
    assert.ok(err instanceof ItemError, String(err));
    assert.equal(err.stage, 'describe');
    assert.equal(err.permanent, true);
    const [entry] = readSample();
    const ok = await describer.describe({ frames: [await asVlmInput(sampleImage(entry!.filename))], category: '', tags: [] });
    assert.equal(comparable(ok.ocrText), comparable(entry!.caption));
  });

  it('rejects an aborted call without running OCR', async () => {
    const jpeg = await asVlmInput(sampleImage(readSample()[0]!.filename));
    await assert.rejects(describer.describe({ frames: [jpeg], category: '', tags: [], signal: AbortSignal.abort() }), { name: 'AbortError' });
  });

  it('never writes to stdout, so --json output stays one JSON object', async () => {
    // In a child process, so that native writes to fd 1 would be seen too.
    const [entry] = readSample();
    const jpegPath = path.join(await mkdtemp(path.join(tmpdir(), 'emomo-ocr-')), 'input.jpg');
    try {
      await writeFile(jpegPath, await asVlmInput(sampleImage(entry!.filename)));
      const script = `
        import { readFileSync } from 'node:fs';
        import { LocalDescriber } from ${JSON.stringify(path.join(ROOT, 'src/providers/vlm/local-describer.ts'))};
        const d = await LocalDescriber.create();
        const r = await d.describe({ frames: [readFileSync(${JSON.stringify(jpegPath)})], category: 'x', tags: [] });
        await d.close();
        process.stdout.write(JSON.stringify({ ocrText: r.ocrText }));`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { cwd: ROOT });
      assert.deepEqual(JSON.parse(stdout), { ocrText: entry!.caption });
    } finally {
      await rm(path.dirname(jpegPath), { recursive: true, force: true });
    }
  });
});

describe('LocalDescriber lifecycle', () => {
  it('rejects calls after close', async () => {
    const d = await LocalDescriber.create({ minConfidence: 0.5 });
    await d.close();
    await assert.rejects(d.describe({ frames: [Buffer.alloc(0)], category: '', tags: [] }), /closed/);
  });

  it('refuses a confidence threshold outside 0..1', async () => {
    await assert.rejects(LocalDescriber.create({ minConfidence: 2 }), RangeError);
  });
});
