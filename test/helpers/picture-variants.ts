/**
 * Copies of a meme as they circulate: re-encoded as a poor JPEG, resized,
 * cropped, watermarked, re-captioned (the same picture with another line:
 * a template variant) and mirrored. Made from the sample images at test time
 * (nothing generated is committed) for the picture-search and duplicate
 * acceptance tests and benchmarks. Every variant is a still of the first frame.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { sampleLines, type SampleLine } from './two-sources.js';
import { sampleDir } from './workspace.js';

export type VariantKind = 'jpeg40' | 'half' | 'crop' | 'watermark' | 'recaption' | 'mirror';
export const VARIANT_KINDS: readonly VariantKind[] = ['jpeg40', 'half', 'crop', 'watermark', 'recaption', 'mirror'];
/** Copies of the same picture and caption: `dupes` must group them with the original. */
export const DUPLICATE_KINDS: readonly VariantKind[] = ['jpeg40', 'half', 'crop', 'watermark'];

export interface SampleEntry extends SampleLine {
  category: string;
  tags: string[];
  caption: string;
}

const FONT = `'Noto Sans CJK SC', 'WenQuanYi Zen Hei', sans-serif`;

/** The sample manifest's entries, with the fields the picture tests read. */
export function sampleEntries(): SampleEntry[] {
  return sampleLines() as SampleEntry[];
}

/** The first frame, opaque, as raw RGB with its size. */
async function firstFrame(bytes: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(bytes, { pages: 1 }).flatten({ background: '#ffffff' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

const raw = (f: { data: Buffer; width: number; height: number }) => sharp(f.data, { raw: { width: f.width, height: f.height, channels: 3 } });
const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The caption band of a sample image: the rows at the bottom whose left edge
 * has the band's colour. Returns its top row and colour.
 */
function captionBand(f: { data: Buffer; width: number; height: number }): { top: number; colour: string } {
  const at = (x: number, y: number) => [0, 1, 2].map((c) => f.data[(y * f.width + x) * 3 + c]!);
  const band = at(2, f.height - 2);
  let top = f.height - 2;
  while (top > 0 && at(2, top - 1).every((v, c) => Math.abs(v - band[c]!) <= 6)) top--;
  const colour = `#${band.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  return { top, colour };
}

/** One variant of an image's bytes, in a format fitting the kind; `caption` is the new line of a re-caption. */
export async function makeVariant(bytes: Buffer, kind: VariantKind, caption = 'NO WAY'): Promise<{ bytes: Buffer; ext: string }> {
  const f = await firstFrame(bytes);
  const { width, height } = f;
  switch (kind) {
    case 'jpeg40':
      return { bytes: await raw(f).jpeg({ quality: 40 }).toBuffer(), ext: 'jpg' };
    case 'half':
      return { bytes: await raw(f).resize(Math.round(width / 2), Math.round(height / 2)).png().toBuffer(), ext: 'png' };
    case 'crop': {
      // 4% of each side, 2% off every edge.
      const dx = Math.round(width * 0.02);
      const dy = Math.round(height * 0.02);
      const region = { left: dx, top: dy, width: width - 2 * dx, height: height - 2 * dy };
      return { bytes: await raw(f).extract(region).png().toBuffer(), ext: 'png' };
    }
    case 'watermark': {
      // A site's name in the top right corner, half transparent, as sharing sites stamp it.
      const w = Math.round(width * 0.3);
      const h = Math.round(height * 0.06);
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><text x="${w}" y="${h * 0.8}" font-family="sans-serif" font-weight="bold" font-size="${h * 0.8}" fill="#444" fill-opacity="0.6" text-anchor="end">@meme.cc</text></svg>`;
      const top = Math.round(height * 0.02);
      const left = width - w - Math.round(width * 0.02);
      return { bytes: await raw(f).composite([{ input: Buffer.from(svg), top, left }]).jpeg({ quality: 85 }).toBuffer(), ext: 'jpg' };
    }
    case 'recaption': {
      const band = captionBand(f);
      const bandHeight = height - band.top;
      const size = Math.min(Math.floor(bandHeight / 1.8), Math.floor((width - 40) / [...caption].length));
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${bandHeight}"><rect width="${width}" height="${bandHeight}" fill="${band.colour}"/><text x="${width / 2}" y="${bandHeight / 2 + size * 0.36}" font-family="${FONT}" font-weight="bold" font-size="${size}" fill="#111111" text-anchor="middle">${escapeXml(caption)}</text></svg>`;
      return { bytes: await raw(f).composite([{ input: Buffer.from(svg), top: band.top, left: 0 }]).png().toBuffer(), ext: 'png' };
    }
    case 'mirror':
      return { bytes: await raw(f).flop().png().toBuffer(), ext: 'png' };
  }
}

export interface VariantFile {
  /** `<original id>-<kind>` */
  id: string;
  of: string;
  kind: VariantKind;
  filename: string;
  /** The caption drawn on the picture (the original's, or the new one of a re-caption). */
  caption: string;
}

/**
 * New lines for re-captions: Latin, so any machine's fonts draw them (CJK
 * fonts may be missing) and the OCR reads them; one per sample entry, since
 * two near-identical drawings given the same new line are copies of each other.
 */
const NEW_LINES = [
  'NO WAY', 'OK FINE', 'WHY ME', 'SO TIRED', 'GOOD NIGHT', 'HELP ME', 'YES BOSS', 'NOT TODAY', 'LOL', 'TOO HOT', 'I QUIT', 'BRB',
  'NICE TRY', 'SEE YOU', 'OH NO', 'WOW', 'STOP IT', 'MY BAD', 'SO WHAT', 'COME ON', 'GOT IT', 'HOLD ON', 'NO COMMENT', 'ME TOO',
  'AGAIN', 'BYE', 'THANKS', 'WAIT', 'SORRY', 'HELLO', 'CHEERS', 'RELAX', 'SURE', 'MAYBE', 'NEVER', 'ALWAYS',
  'OOPS', 'YAY', 'UGH', 'HMM', 'PLEASE', 'READY', 'DONE', 'LATER', 'NOW', 'WHO', 'WHAT', 'WHERE',
];

export function newCaptionFor(entry: SampleEntry, all: readonly SampleEntry[]): string {
  return NEW_LINES[all.findIndex((e) => e.id === entry.id) % NEW_LINES.length]!;
}

/**
 * Writes the variants of the chosen sample entries into `dir` (flat) and
 * returns what each file is.
 */
export async function writeVariants(dir: string, ids: readonly string[], kinds: readonly VariantKind[] = VARIANT_KINDS): Promise<VariantFile[]> {
  fs.mkdirSync(dir, { recursive: true });
  const all = sampleEntries();
  const out: VariantFile[] = [];
  for (const id of ids) {
    const entry = all.find((e) => e.id === id);
    if (!entry) throw new Error(`no sample entry ${id}`);
    const bytes = fs.readFileSync(path.join(sampleDir, 'images', entry.filename));
    for (const kind of kinds) {
      const caption = kind === 'recaption' ? newCaptionFor(entry, all) : entry.caption;
      const variant = await makeVariant(bytes, kind, caption);
      const filename = `${id}-${kind}.${variant.ext}`;
      fs.writeFileSync(path.join(dir, filename), variant.bytes);
      out.push({ id: `${id}-${kind}`, of: id, kind, filename, caption });
    }
  }
  return out;
}

/**
 * A staging set `id` under `stagingRoot` holding the variants (manifest and
 * images), each tagged `tag` so a merge's folded tags can be checked.
 */
export async function writeVariantStaging(stagingRoot: string, id: string, originals: readonly string[], kinds: readonly VariantKind[] = VARIANT_KINDS, tag = '转发'): Promise<VariantFile[]> {
  const dir = path.join(stagingRoot, id);
  const files = await writeVariants(path.join(dir, 'images'), originals, kinds);
  const all = sampleEntries();
  const lines = files.map((f) => {
    const entry = all.find((e) => e.id === f.of)!;
    return JSON.stringify({ id: f.id, filename: f.filename, category: entry.category, tags: [entry.category, tag] });
  });
  fs.writeFileSync(path.join(dir, 'manifest.jsonl'), lines.join('\n') + '\n');
  return files;
}

/**
 * Sample entries drawn as the very same picture as `id`: the same category
 * (face), background colour and aspect ratio; only caption and expression
 * differ. A re-caption of one of them is a re-caption of the others too, so
 * a search by picture may rightly rank any of them first.
 */
export async function twinsOf(id: string): Promise<string[]> {
  const all = sampleEntries();
  const look = async (e: SampleEntry) => {
    const { data, info } = await sharp(path.join(sampleDir, 'images', e.filename), { pages: 1 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return { colour: [...data.subarray((2 * info.width + 2) * 3, (2 * info.width + 2) * 3 + 3)].join(','), aspect: info.height / info.width };
  };
  const me = all.find((e) => e.id === id)!;
  const mine = await look(me);
  const twins: string[] = [];
  for (const e of all) {
    if (e.id === id || e.category !== me.category) continue;
    const other = await look(e);
    if (other.colour === mine.colour && Math.abs(other.aspect / mine.aspect - 1) < 0.02) twins.push(e.id);
  }
  return twins;
}

/**
 * A staging set `id` of `count` re-encoded copies of sample `of` (JPEG at
 * falling quality, every other one also slightly smaller): what twenty
 * shares of one meme leave in a library. Every copy has its own md5.
 */
export async function writeCopyStaging(stagingRoot: string, id: string, of: string, count: number): Promise<string[]> {
  const entry = sampleEntries().find((e) => e.id === of);
  if (!entry) throw new Error(`no sample entry ${of}`);
  const dir = path.join(stagingRoot, id);
  fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
  const f = await firstFrame(fs.readFileSync(path.join(sampleDir, 'images', entry.filename)));
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const width = i % 2 === 0 ? f.width : Math.round(f.width * 0.9);
    const bytes = await raw(f).resize(width).jpeg({ quality: 95 - Math.round((i * 55) / Math.max(1, count - 1)) }).toBuffer();
    const filename = `${of}-copy${i}.jpg`;
    fs.writeFileSync(path.join(dir, 'images', filename), bytes);
    names.push(filename);
  }
  const lines = names.map((filename, i) => JSON.stringify({ id: `${of}-copy${i}`, filename, category: entry.category, tags: entry.tags }));
  fs.writeFileSync(path.join(dir, 'manifest.jsonl'), lines.join('\n') + '\n');
  return names;
}
