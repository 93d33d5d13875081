/**
 * Generates the sample staging set in staging/sample/ (images + manifest.jsonl)
 * used by the README demo and the test suite.
 *
 *   node --import tsx scripts/make-sample.ts
 *
 * Deterministic: a fixed caption table and a seeded PRNG for sizes and colours.
 * Drawing needs a CJK font (fonts-noto-cjk); the output is committed, so CI
 * never runs this script. Each image is a simple face drawn in SVG above a
 * light caption band with dark bold text: big, centred, one line, so the
 * offline OCR describer can read it.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { seededRandom } from '../test/helpers/seeded-random.js';

type Category = '熊猫头' | '蘑菇头' | '柴犬' | '猫猫' | '文字';
type Mood = 'happy' | 'sad' | 'angry' | 'shock' | 'meh';
type Format = 'png' | 'jpg' | 'gif' | 'webp';
/** How an animated sample changes between frames; the caption never does. */
type Motion = 'bob' | 'shake' | 'tint';

interface Spec {
  caption: string;
  category: Category;
  tags: string[];
  mood: Mood;
  format: Format;
  motion?: Motion;
}

const SPECS: Spec[] = [
  { caption: '我太难了', category: '熊猫头', tags: ['无奈', '难过'], mood: 'sad', format: 'png' },
  { caption: '无语', category: '熊猫头', tags: ['无奈'], mood: 'meh', format: 'jpg' },
  { caption: '开心', category: '猫猫', tags: ['开心'], mood: 'happy', format: 'png' },
  { caption: '好的收到', category: '柴犬', tags: ['工作', '回复'], mood: 'happy', format: 'jpg' },
  { caption: '谢谢老板', category: '熊猫头', tags: ['感谢', '开心'], mood: 'happy', format: 'gif', motion: 'bob' },
  { caption: '裂开了', category: '蘑菇头', tags: ['崩溃', '难过'], mood: 'shock', format: 'png' },
  { caption: '绝绝子', category: '文字', tags: ['夸赞', '搞笑'], mood: 'happy', format: 'webp' },
  { caption: '芜湖起飞', category: '柴犬', tags: ['开心', '兴奋'], mood: 'happy', format: 'gif', motion: 'shake' },
  { caption: '摸鱼中', category: '猫猫', tags: ['摸鱼', '搞笑'], mood: 'meh', format: 'jpg' },
  { caption: '打工人', category: '蘑菇头', tags: ['工作', '无奈'], mood: 'meh', format: 'png' },
  { caption: '躺平', category: '猫猫', tags: ['摆烂'], mood: 'meh', format: 'jpg' },
  { caption: '下班了', category: '柴犬', tags: ['开心', '工作'], mood: 'happy', format: 'png' },
  { caption: '干饭', category: '熊猫头', tags: ['干饭', '开心'], mood: 'happy', format: 'jpg' },
  { caption: '离谱', category: '蘑菇头', tags: ['震惊', '吐槽'], mood: 'shock', format: 'png' },
  { caption: '笑死', category: '熊猫头', tags: ['搞笑', '开心'], mood: 'happy', format: 'webp', motion: 'tint' },
  { caption: '我不听', category: '蘑菇头', tags: ['生气', '搞笑'], mood: 'angry', format: 'jpg' },
  { caption: '你礼貌吗', category: '熊猫头', tags: ['吐槽', '生气'], mood: 'angry', format: 'png' },
  { caption: '破防了', category: '猫猫', tags: ['难过', '崩溃'], mood: 'sad', format: 'jpg' },
  { caption: '真香', category: '柴犬', tags: ['搞笑', '开心'], mood: 'happy', format: 'png' },
  { caption: '奥利给', category: '文字', tags: ['加油'], mood: 'happy', format: 'jpg' },
  { caption: '不想上班', category: '猫猫', tags: ['工作', '疲惫'], mood: 'sad', format: 'gif' },
  { caption: '加油', category: '柴犬', tags: ['加油', '鼓励'], mood: 'happy', format: 'png' },
  { caption: '晚安', category: '猫猫', tags: ['问候', '困倦'], mood: 'meh', format: 'jpg' },
  { caption: '早上好', category: '柴犬', tags: ['问候', '开心'], mood: 'happy', format: 'webp' },
  { caption: '委屈', category: '蘑菇头', tags: ['委屈', '难过'], mood: 'sad', format: 'png' },
  { caption: '生气了', category: '熊猫头', tags: ['生气'], mood: 'angry', format: 'gif', motion: 'tint' },
  { caption: '震惊', category: '猫猫', tags: ['震惊'], mood: 'shock', format: 'jpg' },
  { caption: '吃瓜', category: '蘑菇头', tags: ['吃瓜', '搞笑'], mood: 'happy', format: 'png' },
  { caption: 'emo了', category: '文字', tags: ['难过', 'emo'], mood: 'sad', format: 'jpg' },
  { caption: '冲鸭', category: '柴犬', tags: ['加油', '兴奋'], mood: 'happy', format: 'png' },
  { caption: '今天也很开心', category: '猫猫', tags: ['开心'], mood: 'happy', format: 'jpg' },
  { caption: '大无语事件', category: '熊猫头', tags: ['无奈', '吐槽'], mood: 'meh', format: 'png' },
  { caption: '太离谱了吧', category: '柴犬', tags: ['震惊', '吐槽'], mood: 'shock', format: 'jpg' },
  { caption: '晚安好梦', category: '熊猫头', tags: ['问候', '困倦'], mood: 'happy', format: 'webp', motion: 'bob' },
  { caption: '开心到飞起', category: '蘑菇头', tags: ['开心', '兴奋'], mood: 'happy', format: 'png' },
  { caption: '我真的会谢', category: '文字', tags: ['无奈', '吐槽'], mood: 'meh', format: 'jpg' },
  { caption: '尊嘟假嘟', category: '猫猫', tags: ['搞笑', '疑问'], mood: 'shock', format: 'png' },
  { caption: '打工人加油', category: '柴犬', tags: ['工作', '加油'], mood: 'happy', format: 'jpg' },
  { caption: '摸鱼使我快乐', category: '蘑菇头', tags: ['摸鱼', '开心'], mood: 'happy', format: 'png' },
  { caption: '干饭人干饭魂', category: '柴犬', tags: ['干饭', '搞笑'], mood: 'happy', format: 'jpg' },
  { caption: '累了毁灭吧', category: '熊猫头', tags: ['疲惫', '摆烂'], mood: 'sad', format: 'png' },
  { caption: '离谱到家了', category: '猫猫', tags: ['吐槽', '震惊'], mood: 'shock', format: 'gif' },
  { caption: '谁懂啊', category: '文字', tags: ['无奈', '吐槽'], mood: 'sad', format: 'png' },
  { caption: '在吗', category: '猫猫', tags: ['问候'], mood: 'meh', format: 'jpg' },
  { caption: '我酸了', category: '蘑菇头', tags: ['嫉妒', '搞笑'], mood: 'sad', format: 'webp' },
  { caption: '好家伙', category: '柴犬', tags: ['震惊', '搞笑'], mood: 'shock', format: 'png' },
  { caption: '晚安玛卡巴卡', category: '文字', tags: ['问候', '搞笑'], mood: 'happy', format: 'jpg' },
  { caption: '开心就好', category: '熊猫头', tags: ['开心'], mood: 'happy', format: 'png' },
];

const BACKGROUNDS = ['#f6c6c6', '#c6e2f6', '#cdeec4', '#f3e3a9', '#dcccf2', '#f7d3b0', '#bfe6e0', '#e8e8e8'];
const BANDS = ['#ffffff', '#fffbea', '#f4f8ff'];
/** Head colours per category; `tint` animations cycle through the row. */
const SKINS: Record<Category, string[]> = {
  熊猫头: ['#ffffff', '#ffd6d6', '#ff9a9a'],
  蘑菇头: ['#ffe3c4', '#ffc9a3', '#ffb0a0'],
  柴犬: ['#e89b4f', '#f0b56b', '#d9803a'],
  猫猫: ['#b9b9c4', '#e0a96d', '#9fa8b8'],
  文字: ['#ffffff', '#fff4d6', '#e6f0ff'],
};
const FONT = `'Noto Sans CJK SC', 'WenQuanYi Zen Hei', sans-serif`;
const MIN_FONT = 36;
const PAD = 20;


function pick<T>(list: readonly T[], r: number): T {
  return list[Math.floor(r * list.length) % list.length] as T;
}

/** Caption width in em: CJK glyphs are square, Latin letters about half as wide. */
function emWidth(text: string): number {
  return [...text].reduce((w, ch) => w + (ch.charCodeAt(0) < 0x2e80 ? 0.6 : 1), 0);
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

// ---------------------------------------------------------------- face drawing

interface Face {
  cx: number;
  cy: number;
  r: number;
  mood: Mood;
  skin: string;
}

function eyes(f: Face, dy: number, fill: string, size = 0.09): string {
  const { cx, cy, r } = f;
  const ry = f.mood === 'shock' ? size * 1.5 : f.mood === 'meh' ? size * 0.4 : size;
  return [-1, 1]
    .map((s) => `<ellipse cx="${cx + s * 0.38 * r}" cy="${cy + dy * r}" rx="${size * r}" ry="${ry * r}" fill="${fill}"/>`)
    .join('');
}

function brows(f: Face, dy: number): string {
  if (f.mood !== 'angry' && f.mood !== 'sad') return '';
  const { cx, cy, r } = f;
  const y = cy + dy * r;
  const tilt = (f.mood === 'angry' ? 1 : -1) * 0.1 * r;
  return [-1, 1]
    .map((s) => {
      const inner = cx + s * 0.2 * r;
      const outer = cx + s * 0.55 * r;
      return `<line x1="${inner}" y1="${y + tilt}" x2="${outer}" y2="${y - tilt}" stroke="#222" stroke-width="${0.06 * r}" stroke-linecap="round"/>`;
    })
    .join('');
}

function mouth(f: Face, dy: number): string {
  const { cx, cy, r } = f;
  const y = cy + dy * r;
  const w = 0.28 * r;
  const stroke = `stroke="#222" stroke-width="${0.06 * r}" fill="none" stroke-linecap="round"`;
  switch (f.mood) {
    case 'happy':
      return `<path d="M${cx - w} ${y} Q${cx} ${y + w * 1.1} ${cx + w} ${y}" ${stroke}/>`;
    case 'sad':
      return `<path d="M${cx - w} ${y + w * 0.5} Q${cx} ${y - w * 0.5} ${cx + w} ${y + w * 0.5}" ${stroke}/>`;
    case 'angry':
      return `<path d="M${cx - w} ${y} L${cx - w / 3} ${y - w / 3} L${cx + w / 3} ${y} L${cx + w} ${y - w / 3}" ${stroke}/>`;
    case 'shock':
      return `<ellipse cx="${cx}" cy="${y}" rx="${w * 0.45}" ry="${w * 0.65}" fill="#222"/>`;
    case 'meh':
      return `<line x1="${cx - w}" y1="${y}" x2="${cx + w}" y2="${y}" ${stroke}/>`;
  }
}

function triangleEars(f: Face, fill: string, inner: string): string {
  const { cx, cy, r } = f;
  return [-1, 1]
    .map((s) => {
      const outer = `${cx + s * 0.95 * r},${cy - 0.25 * r} ${cx + s * 0.75 * r},${cy - 1.15 * r} ${cx + s * 0.25 * r},${cy - 0.8 * r}`;
      const small = `${cx + s * 0.82 * r},${cy - 0.4 * r} ${cx + s * 0.73 * r},${cy - 0.95 * r} ${cx + s * 0.42 * r},${cy - 0.75 * r}`;
      return `<polygon points="${outer}" fill="${fill}"/><polygon points="${small}" fill="${inner}"/>`;
    })
    .join('');
}

function drawFace(category: Category, f: Face): string {
  const { cx, cy, r, skin } = f;
  switch (category) {
    case '熊猫头':
      return [
        `<circle cx="${cx - 0.72 * r}" cy="${cy - 0.72 * r}" r="${0.32 * r}" fill="#1a1a1a"/>`,
        `<circle cx="${cx + 0.72 * r}" cy="${cy - 0.72 * r}" r="${0.32 * r}" fill="#1a1a1a"/>`,
        `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${skin}" stroke="#1a1a1a" stroke-width="${0.04 * r}"/>`,
        `<ellipse cx="${cx - 0.38 * r}" cy="${cy - 0.1 * r}" rx="${0.24 * r}" ry="${0.3 * r}" fill="#1a1a1a" transform="rotate(25 ${cx - 0.38 * r} ${cy - 0.1 * r})"/>`,
        `<ellipse cx="${cx + 0.38 * r}" cy="${cy - 0.1 * r}" rx="${0.24 * r}" ry="${0.3 * r}" fill="#1a1a1a" transform="rotate(-25 ${cx + 0.38 * r} ${cy - 0.1 * r})"/>`,
        eyes(f, -0.12, '#ffffff', 0.07),
        `<ellipse cx="${cx}" cy="${cy + 0.22 * r}" rx="${0.1 * r}" ry="${0.07 * r}" fill="#1a1a1a"/>`,
        mouth(f, 0.5),
      ].join('');
    case '蘑菇头':
      return [
        `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${skin}" stroke="#333" stroke-width="${0.04 * r}"/>`,
        `<path d="M${cx - 1.12 * r} ${cy - 0.05 * r} A${1.12 * r} ${1.05 * r} 0 0 1 ${cx + 1.12 * r} ${cy - 0.05 * r} Z" fill="#2b2b2b"/>`,
        brows(f, 0.1),
        eyes(f, 0.25, '#222'),
        `<ellipse cx="${cx - 0.55 * r}" cy="${cy + 0.5 * r}" rx="${0.13 * r}" ry="${0.07 * r}" fill="#ff9c9c"/>`,
        `<ellipse cx="${cx + 0.55 * r}" cy="${cy + 0.5 * r}" rx="${0.13 * r}" ry="${0.07 * r}" fill="#ff9c9c"/>`,
        mouth(f, 0.6),
      ].join('');
    case '柴犬':
      return [
        triangleEars(f, skin, '#fff1e0'),
        `<ellipse cx="${cx}" cy="${cy}" rx="${r}" ry="${0.9 * r}" fill="${skin}"/>`,
        `<ellipse cx="${cx}" cy="${cy + 0.4 * r}" rx="${0.62 * r}" ry="${0.45 * r}" fill="#fff8ee"/>`,
        `<circle cx="${cx - 0.38 * r}" cy="${cy - 0.4 * r}" r="${0.07 * r}" fill="#fff1e0"/>`,
        `<circle cx="${cx + 0.38 * r}" cy="${cy - 0.4 * r}" r="${0.07 * r}" fill="#fff1e0"/>`,
        brows(f, -0.42),
        eyes(f, -0.15, '#222'),
        `<ellipse cx="${cx}" cy="${cy + 0.15 * r}" rx="${0.13 * r}" ry="${0.09 * r}" fill="#222"/>`,
        mouth(f, 0.45),
      ].join('');
    case '猫猫': {
      const whiskers = [-1, 1]
        .flatMap((s) => [-0.08, 0.08].map((d) => `<line x1="${cx + s * 0.45 * r}" y1="${cy + (0.25 + d) * r}" x2="${cx + s * 0.95 * r}" y2="${cy + (0.2 + d * 2.5) * r}" stroke="#444" stroke-width="${0.025 * r}"/>`))
        .join('');
      return [
        triangleEars(f, skin, '#ffc7d1'),
        `<ellipse cx="${cx}" cy="${cy}" rx="${r}" ry="${0.88 * r}" fill="${skin}"/>`,
        brows(f, -0.4),
        eyes(f, -0.12, '#222', 0.1),
        `<polygon points="${cx - 0.08 * r},${cy + 0.12 * r} ${cx + 0.08 * r},${cy + 0.12 * r} ${cx},${cy + 0.22 * r}" fill="#ff8fa3"/>`,
        whiskers,
        mouth(f, 0.45),
      ].join('');
    }
    case '文字':
      // A plain speech bubble: the caption is the whole joke.
      return [
        `<rect x="${cx - 1.2 * r}" y="${cy - 0.75 * r}" width="${2.4 * r}" height="${1.5 * r}" rx="${0.3 * r}" fill="${skin}" stroke="#333" stroke-width="${0.04 * r}"/>`,
        `<polygon points="${cx - 0.3 * r},${cy + 0.73 * r} ${cx + 0.1 * r},${cy + 0.73 * r} ${cx - 0.45 * r},${cy + 1.05 * r}" fill="${skin}" stroke="#333" stroke-width="${0.04 * r}"/>`,
        ...[-1, 0, 1].map((s) => `<circle cx="${cx + s * 0.5 * r}" cy="${cy}" r="${0.13 * r}" fill="#555"/>`),
      ].join('');
  }
}

// ---------------------------------------------------------------- layout and encoding

interface Layout {
  width: number;
  height: number;
  fontSize: number;
  bandHeight: number;
  background: string;
  band: string;
}

function layout(spec: Spec, rand: () => number): Layout {
  const em = emWidth(spec.caption);
  // Widen the canvas when the caption would not fit at the minimum font size.
  const width = Math.max(240 + Math.floor(rand() * 51) * 8, Math.ceil(MIN_FONT * em + 2 * PAD));
  const height = Math.round(width * (0.9 + rand() * 0.35));
  const fontSize = Math.min(Math.floor((width - 2 * PAD) / em), Math.max(MIN_FONT, Math.floor(width * 0.15)), 72);
  return {
    width,
    height,
    fontSize,
    bandHeight: Math.round(fontSize * 1.8),
    background: pick(BACKGROUNDS, rand()),
    band: pick(BANDS, rand()),
  };
}

function frameSvg(spec: Spec, l: Layout, frame: number): string {
  const faceArea = l.height - l.bandHeight;
  const r = Math.min(l.width * 0.3, faceArea * 0.34);
  const skins = SKINS[spec.category];
  const shift = frame % 2 === 0 ? 0 : 0.08 * r;
  const face: Face = {
    cx: l.width / 2 + (spec.motion === 'shake' ? (frame % 2 === 0 ? -shift - 0.04 * r : shift) : 0),
    cy: faceArea / 2 + 0.06 * r - (spec.motion === 'bob' ? shift : 0),
    r,
    mood: spec.mood,
    skin: (spec.motion === 'tint' ? skins[frame % skins.length] : skins[0]) as string,
  };
  // Baseline sits ~0.36 em below the band centre so CJK glyphs look vertically centred.
  const baseline = l.height - l.bandHeight / 2 + l.fontSize * 0.36;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${l.width}" height="${l.height}">
${drawFace(spec.category, face)}
<rect x="0" y="${faceArea}" width="${l.width}" height="${l.bandHeight}" fill="${l.band}"/>
<text x="${l.width / 2}" y="${baseline}" font-family="${FONT}" font-weight="bold" font-size="${l.fontSize}" fill="#111111" text-anchor="middle">${escapeXml(spec.caption)}</text>
</svg>`;
}

async function renderFrame(spec: Spec, l: Layout, frame: number): Promise<Buffer> {
  return sharp({ create: { width: l.width, height: l.height, channels: 3, background: l.background } })
    .composite([{ input: Buffer.from(frameSvg(spec, l, frame)) }])
    .png()
    .toBuffer();
}

async function encode(spec: Spec, frames: Buffer[]): Promise<Buffer> {
  const img = frames.length > 1 ? sharp(frames, { join: { animated: true } }) : sharp(frames[0] as Buffer);
  const opaque = img.removeAlpha();
  const delay = frames.map(() => 400);
  switch (spec.format) {
    case 'png':
      return opaque.png({ compressionLevel: 9, palette: true }).toBuffer();
    case 'jpg':
      return opaque.jpeg({ quality: 88, chromaSubsampling: '4:4:4' }).toBuffer();
    case 'gif':
      // No dithering: flat colours stay flat and the caption edges stay clean.
      return opaque.gif({ dither: 0, loop: 0, ...(frames.length > 1 ? { delay } : {}) }).toBuffer();
    case 'webp':
      return opaque.webp({ quality: 90, loop: 0, ...(frames.length > 1 ? { delay } : {}) }).toBuffer();
  }
}

async function main(): Promise<void> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'staging', 'sample');
  const imagesDir = path.join(root, 'images');
  await rm(imagesDir, { recursive: true, force: true });
  await mkdir(imagesDir, { recursive: true });

  const captions = new Set(SPECS.map((s) => s.caption));
  if (captions.size !== SPECS.length) throw new Error('captions must be unique');

  const rand = seededRandom(20240601);
  const lines: string[] = [];
  let total = 0;
  for (const [i, spec] of SPECS.entries()) {
    const id = `s${String(i + 1).padStart(3, '0')}`;
    const filename = `${id}.${spec.format}`;
    const l = layout(spec, rand);
    const frameCount = spec.motion ? (spec.motion === 'tint' ? 3 : 2) : 1;
    const frames = await Promise.all(Array.from({ length: frameCount }, (_, f) => renderFrame(spec, l, f)));
    const data = await encode(spec, frames);
    await writeFile(path.join(imagesDir, filename), data);
    total += data.length;
    lines.push(
      JSON.stringify({
        id,
        filename,
        category: spec.category,
        tags: [spec.category, ...spec.tags],
        source_url: `https://example.com/sample/${id}`,
        is_animated: frameCount > 1,
        format: spec.format,
        caption: spec.caption,
      }),
    );
  }
  await writeFile(path.join(root, 'manifest.jsonl'), lines.join('\n') + '\n');
  console.log(`wrote ${SPECS.length} images (${(total / 1024).toFixed(0)} KiB) to ${path.relative(process.cwd(), root)}`);
}

await main();
