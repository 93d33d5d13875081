/**
 * The image layer against the real-world corpus in shared/fixtures/real-images
 * (see its README for what ingest must do with each file). Every file of that
 * folder is listed below; a new fixture without an expectation fails the run.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import sharp from 'sharp';
import { ItemError } from '../../src/errors.js';
import type { ImageFacts, ImageFormat } from '../../src/ports.js';
import { contentTypeFor, sniffFormat } from '../../src/images/format.js';
import { probeImage } from '../../src/images/probe.js';
import { prepareVlmFrames } from '../../src/images/vlm-input.js';

const DIR = new URL('../../../shared/fixtures/real-images/', import.meta.url);
const read = (name: string): Buffer => readFileSync(new URL(name, DIR));
const LIMITS = { maxPixels: 50_000_000 };

/** Stored (not EXIF-rotated) frame size, frame count and format of every accepted fixture. */
const ACCEPTED: Record<string, { format: ImageFormat; width: number; height: number; frames: number }> = {
  'animated-loop-3.gif': { format: 'gif', width: 370, height: 285, frames: 10 },
  'rotating-squares.gif': { format: 'gif', width: 80, height: 80, frames: 30 },
  'Crash_test.gif': { format: 'gif', width: 800, height: 533, frames: 1 },
  'animated-loop-3.webp': { format: 'webp', width: 370, height: 285, frames: 10 },
  'rotating-squares.webp': { format: 'webp', width: 80, height: 80, frames: 9 },
  // 97 frames of 13x169: stacked they would be 16393 px high.
  'big-height.webp': { format: 'webp', width: 13, height: 169, frames: 97 },
  '4.webp': { format: 'webp', width: 1024, height: 772, frames: 1 },
  '5_webp_a.webp': { format: 'webp', width: 300, height: 300, frames: 1 },
  'Channel_digital_image_CMYK_color_no_profile.jpg': { format: 'jpeg', width: 500, height: 333, frames: 1 },
  'Landscape_6.jpg': { format: 'jpeg', width: 450, height: 600, frames: 1 },
  'Portrait_8.jpg': { format: 'jpeg', width: 600, height: 450, frames: 1 },
  '16-bit-grey-alpha.png': { format: 'png', width: 109, height: 96, frames: 1 },
  'Flag_of_the_Netherlands-16bit.png': { format: 'png', width: 900, height: 600, frames: 1 },
  'blackbug.png': { format: 'png', width: 2048, height: 1536, frames: 1 },
  'full-transparent.png': { format: 'png', width: 300, height: 300, frames: 1 },
  'grey-plus-alpha.gif': { format: 'gif', width: 2, height: 1, frames: 1 },
  // Tiny images are accepted here; a minimum size is the pipeline's (configurable) call.
  '2x2_fdcce6.png': { format: 'png', width: 2, height: 2, frames: 1 },
  '320x240.jpg': { format: 'jpeg', width: 320, height: 240, frames: 1 },
  'flowers.jpeg': { format: 'jpeg', width: 1920, height: 1080, frames: 1 },
  'concert.jpg': { format: 'jpeg', width: 400, height: 267, frames: 1 },
  'gamma_dalai_lama_gray.jpg': { format: 'jpeg', width: 258, height: 222, frames: 1 },
  'testimgl.jpg': { format: 'jpeg', width: 227, height: 149, frames: 1 },
};

/** Refused by magic bytes, whatever the file is called. */
const UNSUPPORTED: Record<string, string> = {
  '8bit_depth.tiff': 'TIFF',
  'relax.jp2': 'JPEG 2000',
  'circle.svg': 'SVG',
  // sharp could decode it, but AVIF is not a meme format we store or serve.
  'pitm.avif': 'AVIF/HEIF',
};

/** Header is intact, so probe succeeds; the damage shows only when pixels are decoded. */
const FAIL_AT_PREPARE = ['truncated.jpg', 'truncated.png'];
/** Refused by probe, before any pixel is decoded. */
const FAIL_AT_PROBE = ['corrupt-header.jpg', 'giant-image.jpg'];

/** Checks a rejection is a permanent `decode` ItemError whose message is (or matches) `expected`. */
function isPermanentDecodeError(expected: string | RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ItemError, `expected ItemError, got ${String(err)}`);
    assert.equal(err.stage, 'decode');
    assert.equal(err.permanent, true);
    if (typeof expected === 'string') assert.equal(err.message, expected);
    else assert.match(err.message, expected);
    return true;
  };
}

/** The describer's input with the default of one frame per image. */
async function firstFrame(bytes: Buffer, facts: ImageFacts, limits: typeof LIMITS, maxSide?: number): Promise<Buffer> {
  const frames = await prepareVlmFrames(bytes, facts, limits, maxSide === undefined ? {} : { maxSide });
  assert.equal(frames.length, 1);
  return frames[0]!;
}

async function prepared(name: string): Promise<{ facts: ImageFacts; jpeg: Buffer; meta: sharp.Metadata }> {
  const bytes = read(name);
  const facts = await probeImage(bytes, LIMITS);
  const jpeg = await firstFrame(bytes, facts, LIMITS);
  return { facts, jpeg, meta: await sharp(jpeg).metadata() };
}

test('every fixture in the corpus has an expectation here', () => {
  const listed = [...Object.keys(ACCEPTED), ...Object.keys(UNSUPPORTED), ...FAIL_AT_PREPARE, ...FAIL_AT_PROBE];
  const present = readdirSync(DIR).filter((f) => f !== 'README.md');
  assert.deepEqual([...listed].sort(), [...present].sort());
});

for (const [name, want] of Object.entries(ACCEPTED)) {
  test(`accepts ${name}: probe facts and a still, sRGB, JPEG VLM input within 768 px`, async () => {
    const bytes = read(name);
    const { facts, jpeg, meta } = await prepared(name);
    assert.deepEqual(facts, {
      md5: createHash('md5').update(bytes).digest('hex'),
      format: want.format,
      ext: want.format === 'jpeg' ? 'jpg' : want.format,
      width: want.width,
      height: want.height,
      frames: want.frames,
      isAnimated: want.frames > 1,
      fileSize: bytes.length,
    });
    assert.deepEqual([...jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff], 'JPEG magic bytes');
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.space, 'srgb');
    assert.equal(meta.channels, 3, 'no alpha, not greyscale, not CMYK');
    assert.equal(meta.pages ?? 1, 1, 'a single frame');
    assert.ok(Math.max(meta.width, meta.height) <= 768, `${meta.width}x${meta.height} exceeds 768`);
    // Never enlarged: the longer side is min(original longer side, 768).
    assert.equal(Math.max(meta.width, meta.height), Math.min(768, Math.max(want.width, want.height)));
  });
}

test('animated images give the VLM their first frame, not the stacked strip', async () => {
  const { facts, meta } = await prepared('big-height.webp');
  assert.equal(facts.isAnimated, true);
  assert.deepEqual([meta.width, meta.height], [13, 169]);
});

test('Crash_test.gif has one frame and is not animated', async () => {
  const facts = await probeImage(read('Crash_test.gif'), LIMITS);
  assert.equal(facts.frames, 1);
  assert.equal(facts.isAnimated, false);
});

test('EXIF orientation is applied: stored dimensions are swapped in the VLM input', async () => {
  const landscape = await prepared('Landscape_6.jpg');
  assert.deepEqual([landscape.facts.width, landscape.facts.height], [450, 600]);
  assert.deepEqual([landscape.meta.width, landscape.meta.height], [600, 450]);
  const portrait = await prepared('Portrait_8.jpg');
  assert.deepEqual([portrait.facts.width, portrait.facts.height], [600, 450]);
  assert.deepEqual([portrait.meta.width, portrait.meta.height], [450, 600]);
});

test('EXIF orientation 6 turns the picture clockwise (not just any quarter turn)', async () => {
  const bytes = read('Landscape_6.jpg');
  const { jpeg } = await prepared('Landscape_6.jpg');
  const thumb = (input: sharp.Sharp) => input.resize(16, 12, { fit: 'fill' }).greyscale().raw().toBuffer();
  const distance = (a: Buffer, b: Buffer) => a.reduce((sum, v, i) => sum + Math.abs(v - (b[i] ?? 0)), 0);
  const ours = await thumb(sharp(jpeg));
  const clockwise = await thumb(sharp(bytes).rotate(90));
  const anticlockwise = await thumb(sharp(bytes).rotate(270));
  assert.ok(distance(ours, clockwise) < distance(ours, anticlockwise) / 4);
});

test('a CMYK JPEG without a profile becomes 3-channel sRGB', async () => {
  const bytes = read('Channel_digital_image_CMYK_color_no_profile.jpg');
  assert.equal((await sharp(bytes).metadata()).space, 'cmyk');
  const { meta } = await prepared('Channel_digital_image_CMYK_color_no_profile.jpg');
  assert.equal(meta.space, 'srgb');
  assert.equal(meta.channels, 3);
});

test('a fully transparent PNG is flattened onto white', async () => {
  const { jpeg } = await prepared('full-transparent.png');
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  assert.ok(data.every((v) => v >= 250), 'every pixel is white (allowing JPEG rounding)');
});

test('maxSide bounds the longer side and keeps the aspect ratio', async () => {
  const bytes = read('flowers.jpeg');
  const facts = await probeImage(bytes, LIMITS);
  const meta = await sharp(await firstFrame(bytes, facts, LIMITS, 100)).metadata();
  assert.deepEqual([meta.width, meta.height], [100, 56]);
});

for (const name of FAIL_AT_PREPARE) {
  test(`${name}: probe succeeds (header intact), prepare fails as a permanent decode error`, async () => {
    const bytes = read(name);
    const facts = await probeImage(bytes, LIMITS);
    await assert.rejects(firstFrame(bytes, facts, LIMITS), isPermanentDecodeError(/^corrupt or truncated image: /));
  });
}

test('corrupt-header.jpg fails at probe as a permanent decode error', async () => {
  await assert.rejects(probeImage(read('corrupt-header.jpg'), LIMITS), isPermanentDecodeError(/^corrupt image: .*header/));
});

test('a PNG with a damaged data chunk fails at prepare', async () => {
  const bytes = Buffer.from(read('blackbug.png'));
  bytes[50_000]! ^= 0xff; // inside IDAT: the chunk checksum no longer matches
  const facts = await probeImage(bytes, LIMITS);
  await assert.rejects(firstFrame(bytes, facts, LIMITS), isPermanentDecodeError(/^corrupt or truncated image: /));
});

test('JPEG data damaged mid-stream still decodes (failOn "error", see vlm-input.ts)', async () => {
  // Deliberate: libvips' strictest level ('warning') also rejects JPEGs that
  // every viewer shows; a glitched band is still worth describing.
  const bytes = Buffer.from(read('320x240.jpg'));
  for (let i = 40_000; i < 40_200; i++) bytes[i] = (i * 37) & 0xff;
  const facts = await probeImage(bytes, LIMITS);
  const meta = await sharp(await firstFrame(bytes, facts, LIMITS)).metadata();
  assert.deepEqual([meta.width, meta.height], [320, 240]);
});

test('giant-image.jpg (280 MP in 1 MB) is refused by probe without decoding', async () => {
  const bytes = read('giant-image.jpg');
  const before = process.memoryUsage().rss;
  await assert.rejects(
    probeImage(bytes, LIMITS),
    isPermanentDecodeError('image is 20000x14000 = 280.0 megapixels, above the limit of 50.0 megapixels'),
  );
  const grown = process.memoryUsage().rss - before;
  assert.ok(grown < 100e6, `RSS grew by ${(grown / 1e6).toFixed(0)} MB`);
});

test('prepare refuses a bomb even when handed facts that understate its size', async () => {
  const bytes = read('giant-image.jpg');
  const lying: ImageFacts = {
    md5: 'x', format: 'jpeg', ext: 'jpg', width: 10, height: 10, frames: 1, isAnimated: false, fileSize: bytes.length,
  };
  const before = process.memoryUsage().rss;
  await assert.rejects(firstFrame(bytes, lying, LIMITS), isPermanentDecodeError(/above the limit of 50\.0 megapixels/));
  assert.ok(process.memoryUsage().rss - before < 100e6);
});

for (const [name, label] of Object.entries(UNSUPPORTED)) {
  test(`${name} is refused as unsupported format ${label} at probe, by its bytes`, async () => {
    const bytes = read(name);
    assert.deepEqual(sniffFormat(bytes), { unsupported: label });
    const message = `unsupported format: ${label} (only JPEG, PNG, GIF and WebP are accepted)`;
    await assert.rejects(probeImage(bytes, LIMITS), isPermanentDecodeError(message));
  });
}

test('an SVG saved as x.png is still an SVG, and prepare never renders it', async () => {
  const svgAsPng = read('circle.svg'); // what a file named x.png could hold: the API only sees bytes
  assert.deepEqual(sniffFormat(svgAsPng), { unsupported: 'SVG' });
  const facts: ImageFacts = { md5: 'x', format: 'png', ext: 'png', width: 8, height: 8, frames: 1, isAnimated: false, fileSize: 122 };
  await assert.rejects(firstFrame(svgAsPng, facts, LIMITS), isPermanentDecodeError(/^unsupported format: SVG/));
});

test('JPEG bytes in a file named .png are detected as JPEG', async () => {
  const jpegAsPng = read('320x240.jpg');
  assert.deepEqual(sniffFormat(jpegAsPng), { format: 'jpeg', ext: 'jpg' });
  assert.equal((await probeImage(jpegAsPng, LIMITS)).format, 'jpeg');
});

test('sniffFormat names other formats for the message', () => {
  const cases: [string | Buffer, string][] = [
    ['BM\x36\x00\x00\x00', 'BMP'],
    [Buffer.from([0, 0, 1, 0, 1, 0, 16, 16]), 'ICO'],
    ['%PDF-1.7\n', 'PDF'],
    ['\uFEFF  <!DOCTYPE html><html><head>', 'HTML'],
    ['<html lang="zh">', 'HTML'],
    ['<?xml version="1.0"?>\n<!-- drawn by hand -->\n<svg xmlns="http://www.w3.org/2000/svg">', 'SVG'],
    ['MM\x00\x2a\x00\x00\x00\x08', 'TIFF'],
    [Buffer.from('0000000c6a5020200d0a870a', 'hex'), 'JPEG 2000'],
    [Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic')]), 'AVIF/HEIF'],
    ['RIFF\x24\x00\x00\x00WAVEfmt ', 'unknown'],
    ['<?xml version="1.0"?><rss>', 'unknown'],
    ['', 'unknown'],
  ];
  for (const [head, label] of cases) {
    const bytes = typeof head === 'string' ? Buffer.from(head, 'utf8') : head;
    assert.deepEqual(sniffFormat(bytes), { unsupported: label }, JSON.stringify(head));
  }
});

test('contentTypeFor maps each accepted format', () => {
  assert.equal(contentTypeFor('jpeg'), 'image/jpeg');
  assert.equal(contentTypeFor('png'), 'image/png');
  assert.equal(contentTypeFor('gif'), 'image/gif');
  assert.equal(contentTypeFor('webp'), 'image/webp');
});
