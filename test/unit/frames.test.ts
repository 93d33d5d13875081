/**
 * Choosing the frames of an animation: the pure picker on made-up
 * signatures, then the decoder on real GIFs and WebPs from the fixtures.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { frameDistance, pickFrames } from '../../src/images/frame-pick.js';
import { chooseFrames, frameSignatures, frameWindow } from '../../src/images/frames.js';
import { probeImage } from '../../src/images/probe.js';
import { prepareVlmFrames } from '../../src/images/vlm-input.js';
import { realImagesDir, realMemesDir } from '../helpers/workspace.js';

const LIMITS = { maxPixels: 50_000_000 };
const flat = (value: number, length = 12) => new Uint8Array(length).fill(value);

describe('pickFrames', () => {
  it('takes only the first frame of a still or an animation that hardly changes', () => {
    assert.deepEqual(pickFrames([flat(10)], { maxFrames: 4 }), [0]);
    assert.deepEqual(pickFrames([flat(10), flat(12), flat(9), flat(14)], { maxFrames: 4 }), [0]);
    assert.deepEqual(pickFrames([], { maxFrames: 4 }), []);
  });

  it('takes the first frame of each scene, in playing order', () => {
    const scenes = [flat(0), flat(0), flat(200), flat(200), flat(100), flat(100)];
    assert.deepEqual(pickFrames(scenes, { maxFrames: 4 }), [0, 2, 4]);
  });

  it('stops at the cap, keeping the frames that differ most', () => {
    const ramp = [0, 20, 40, 60, 80, 100, 120, 140, 160, 180].map((v) => flat(v));
    assert.deepEqual(pickFrames(ramp, { maxFrames: 3 }), [0, 4, 9]);
    assert.deepEqual(pickFrames(ramp, { maxFrames: 1 }), [0]);
  });

  it('honours the minimum change', () => {
    const frames = [flat(0), flat(5), flat(30)];
    assert.deepEqual(pickFrames(frames, { maxFrames: 4, minChange: 4 }), [0, 1, 2]);
    assert.deepEqual(pickFrames(frames, { maxFrames: 4, minChange: 40 }), [0]);
  });

  it('measures the mean absolute difference', () => {
    assert.equal(frameDistance(Uint8Array.of(0, 10, 20), Uint8Array.of(10, 10, 0)), 10);
    assert.throws(() => frameDistance(flat(0, 2), flat(0, 3)), RangeError);
  });
});

describe('frame decoding', () => {
  const meme = (name: string) => readFileSync(path.join(realMemesDir, name));
  const image = (name: string) => readFileSync(path.join(realImagesDir, name));

  it('bounds the analysed window by the pixel limit: frames x pixels x (chosen + 1)', () => {
    const facts = { width: 250, height: 250, frames: 10_000 };
    assert.equal(frameWindow(facts, LIMITS, 4), 160); // 50e6 / (62,500 x 5)
    assert.equal(frameWindow({ ...facts, frames: 40 }, LIMITS, 4), 40);
    assert.equal(frameWindow({ width: 7000, height: 7000, frames: 3 }, LIMITS, 4), 1);
  });

  it('reads the first and the last caption of TomAndJerry058 (我能怎么办 → 我也很无奈)', async () => {
    const bytes = meme('033TomAndJerry/TomAndJerry058.gif');
    const facts = await probeImage(bytes, LIMITS);
    const chosen = await chooseFrames(bytes, facts, LIMITS, 4);
    assert.equal(chosen[0], 0);
    assert.ok(chosen.some((f) => f >= 18), `a frame of the second caption (18-39) among ${chosen}`);
    assert.deepEqual(chosen, [...chosen].sort((a, b) => a - b));
  });

  it('chooses one frame for a 120-frame GIF whose picture hardly moves', async () => {
    const bytes = meme('014GoldenCuratorPanda/GoldenCuratorPanda191.gif');
    const facts = await probeImage(bytes, LIMITS);
    assert.equal(facts.frames, 120);
    assert.deepEqual(await chooseFrames(bytes, facts, LIMITS, 4), [0]);
  });

  it('decodes only the window the pixel limit allows', async () => {
    const bytes = image('rotating-squares.gif'); // 30 frames of 80x80
    const facts = await probeImage(bytes, LIMITS);
    const tight = { maxPixels: 80 * 80 * 5 * 5 }; // room for 5 frames with 4 chosen
    assert.equal(frameWindow(facts, tight, 4), 5);
    assert.equal((await frameSignatures(bytes, 5, tight)).length, 5);
    assert.ok((await chooseFrames(bytes, facts, tight, 4)).every((f) => f < 5));
    // Asking the decoder for more than the limit allows is refused by libvips itself.
    await assert.rejects(frameSignatures(bytes, 30, tight), /pixel limit/);
  });

  it('gives the describer the chosen frames, rendered in order, and one frame for a still', async () => {
    const bytes = meme('033TomAndJerry/TomAndJerry058.gif');
    const facts = await probeImage(bytes, LIMITS);
    const frames = await prepareVlmFrames(bytes, facts, LIMITS, { maxFrames: 4 });
    const chosen = await chooseFrames(bytes, facts, LIMITS, 4);
    assert.equal(frames.length, chosen.length);
    for (const [i, page] of chosen.entries()) {
      const expected = await sharp(bytes, { page }).flatten({ background: '#fff' }).resize(16, 16, { fit: 'fill' }).raw().toBuffer();
      const got = await sharp(frames[i]!).resize(16, 16, { fit: 'fill' }).raw().toBuffer();
      assert.ok(frameDistance(expected, got) < 6, `frame ${i} is page ${page}`);
    }
    const still = image('320x240.jpg');
    assert.equal((await prepareVlmFrames(still, await probeImage(still, LIMITS), LIMITS, { maxFrames: 4 })).length, 1);
  });

  it('falls back to the first frame when a later frame is damaged', async () => {
    const bytes = meme('033TomAndJerry/TomAndJerry058.gif');
    const facts = await probeImage(bytes, LIMITS);
    const cut = bytes.subarray(0, Math.floor(bytes.length * 0.6)); // frames past the cut are missing
    assert.deepEqual(await chooseFrames(cut, facts, LIMITS, 4), [0]);
    assert.equal((await prepareVlmFrames(cut, facts, LIMITS, { maxFrames: 4 })).length, 1);
  });
});
