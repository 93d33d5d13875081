/**
 * A staging set of small generated PNGs, each with distinct bytes (pixels
 * seeded by index), for tests and benchmarks that need many items but no
 * particular picture. Items can carry extra tags so a fake provider can pick
 * out one of them (e.g. a tag the fake answers with a wrong-size vector).
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

export interface GeneratedItem {
  id: string;
  filename: string;
  tags: string[];
}

export async function writeGeneratedStaging(
  stagingRoot: string,
  id: string,
  count: number,
  extraTags: (index: number) => string[] = () => [],
  side = 24,
): Promise<GeneratedItem[]> {
  const dir = path.join(stagingRoot, id);
  fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
  const items: GeneratedItem[] = [];
  for (let i = 0; i < count; i++) {
    const pixels = Buffer.alloc(side * side * 3);
    let x = (i + 1) * 2654435761;
    for (let p = 0; p < pixels.length; p++) {
      x = (x ^ (x << 13)) >>> 0;
      x = (x ^ (x >>> 17)) >>> 0;
      x = (x ^ (x << 5)) >>> 0;
      pixels[p] = x & 0xff;
    }
    const filename = `g${String(i).padStart(5, '0')}.png`;
    await sharp(pixels, { raw: { width: side, height: side, channels: 3 } }).png().toFile(path.join(dir, 'images', filename));
    items.push({ id: `g${i}`, filename, tags: ['熊猫头', ...extraTags(i)] });
  }
  const manifest = items.map((it) => JSON.stringify({ id: it.id, filename: it.filename, category: '熊猫头', tags: it.tags }));
  fs.writeFileSync(path.join(dir, 'manifest.jsonl'), manifest.join('\n') + '\n');
  return items;
}
