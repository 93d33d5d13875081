/**
 * Shows how the offline describer reads the animated images of a folder:
 * for each one, the caption OCR reads off every frame (stretches of equal
 * readings), the frames emomo chooses, and the merged caption it stores,
 * next to what the first frame alone gives. Used to find the memes whose
 * caption changes between frames (test/helpers/animated-captions.ts).
 *
 *   node --import tsx scripts/animated-captions.ts [folder] [--max-frames 4] [--json]
 *
 * Slow on purpose: every frame is read (about 0.1 s each).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chooseFrames } from '../src/images/frames.js';
import { probeImage } from '../src/images/probe.js';
import { prepareVlmFrames, renderFrame } from '../src/images/vlm-input.js';
import { LocalDescriber } from '../src/providers/vlm/local-describer.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'max-frames': { type: 'string', default: '4' }, json: { type: 'boolean', default: false } },
});
const root = path.resolve(positionals[0] ?? path.join(import.meta.dirname, '..', '..', 'shared', 'fixtures', 'real-memes'));
const maxFrames = Number(values['max-frames']);
const limits = { maxPixels: 50_000_000 };

function* files(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* files(full);
    else if (!entry.name.endsWith('.md')) yield full;
  }
}

interface Entry {
  file: string;
  frames: number;
  stretches: Array<{ frames: [number, number]; text: string }>;
  chosen: number[];
  first: string;
  merged: string;
}

const describer = await LocalDescriber.create({ maxFrames });
const read = async (frames: Buffer[]) => (await describer.describe({ frames, category: '', tags: [] })).ocrText;
const report: Entry[] = [];
try {
  for (const file of files(root)) {
    const bytes = fs.readFileSync(file);
    const facts = await probeImage(bytes, limits).catch(() => undefined);
    if (!facts?.isAnimated) continue;
    const stretches: Entry['stretches'] = [];
    for (let page = 0; page < facts.frames; page++) {
      const text = await read([await renderFrame(bytes, limits, 768, page)]);
      const last = stretches.at(-1);
      if (last && last.text === text) last.frames[1] = page;
      else stretches.push({ frames: [page, page], text });
    }
    const chosen = await chooseFrames(bytes, facts, limits, maxFrames);
    const merged = await read(await prepareVlmFrames(bytes, facts, limits, { maxFrames }));
    const entry: Entry = { file: path.relative(root, file), frames: facts.frames, stretches, chosen, first: stretches[0]?.text ?? '', merged };
    report.push(entry);
    if (values.json) continue;
    process.stdout.write(`${entry.file} (${entry.frames} frames) chosen [${chosen.join(', ')}]\n`);
    for (const s of stretches) process.stdout.write(`  ${s.frames[0]}-${s.frames[1]}: ${JSON.stringify(s.text)}\n`);
    process.stdout.write(`  first frame: ${JSON.stringify(entry.first)}\n  merged:      ${JSON.stringify(merged)}\n`);
  }
} finally {
  await describer.close();
}
if (values.json) process.stdout.write(JSON.stringify(report, null, 1) + '\n');
