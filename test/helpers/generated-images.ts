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

export type Rgb = [number, number, number];

/**
 * An animated GIF of solid-colour frames, in the order given. The encoder
 * folds the `repeat` identical frames of a colour into one longer frame.
 */
export async function solidColourGif(colours: readonly Rgb[], repeat = 2, side = 48): Promise<Buffer> {
  const frame = side * side * 3;
  const pixels = Buffer.alloc(frame * colours.length * repeat);
  colours.forEach((rgb, c) => {
    for (let r = 0; r < repeat; r++) {
      const start = (c * repeat + r) * frame;
      for (let p = start; p < start + frame; p += 3) pixels.set(rgb, p);
    }
  });
  return sharp(pixels, { raw: { width: side, height: side * colours.length * repeat, channels: 3, pageHeight: side } })
    .gif({ delay: 100 })
    .toBuffer();
}

/** The mean colour of a picture, or of one region of it. */
export async function meanColour(image: Buffer, region?: { left: number; top: number; width: number; height: number }): Promise<Rgb> {
  // stats() reads its input, not the pipeline's result: cut the region out first.
  const input = region ? await sharp(image).extract(region).png().toBuffer() : image;
  const { channels } = await sharp(input).stats();
  return [channels[0]!.mean, channels[1]!.mean, channels[2]!.mean].map(Math.round) as Rgb;
}

export const RED: Rgb = [230, 30, 30];
export const GREEN: Rgb = [30, 200, 40];
export const BLUE: Rgb = [30, 40, 220];

/**
 * A staging set `id` of animated GIFs of solid-colour scenes (one per colour
 * list, ids scenes0, scenes1, ...) and one still (id still), category 熊猫头.
 */
export async function writeScenesStaging(stagingRoot: string, id: string, animations: readonly Rgb[][] = [[RED, GREEN, BLUE]]): Promise<void> {
  const dir = path.join(stagingRoot, id);
  fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
  const entries: Array<{ id: string; filename: string; category: string; tags: string[] }> = [];
  for (const [i, colours] of animations.entries()) {
    fs.writeFileSync(path.join(dir, 'images', `scenes${i}.gif`), await solidColourGif(colours));
    entries.push({ id: `scenes${i}`, filename: `scenes${i}.gif`, category: '熊猫头', tags: [] });
  }
  const still = await sharp({ create: { width: 48, height: 48, channels: 3, background: { r: GREEN[0], g: GREEN[1], b: GREEN[2] } } }).png().toBuffer();
  fs.writeFileSync(path.join(dir, 'images', 'still.png'), still);
  entries.push({ id: 'still', filename: 'still.png', category: '熊猫头', tags: [] });
  fs.writeFileSync(path.join(dir, 'manifest.jsonl'), entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
}
