/**
 * Reading one image with a describer: its frames prepared (one for a still,
 * the representative ones of an animation), the call timed, and what it cost
 * attached to the description so `stats` can show it. Used by ingest and by
 * `redescribe`, so both read an image the same way.
 */
import type { Stage } from '../errors.js';
import type { ImageLimits } from '../images/probe.js';
import { prepareVlmFrames } from '../images/vlm-input.js';
import type { Describer, Description, ImageFacts } from '../ports.js';

export interface DescribeImageOptions {
  limits: ImageLimits;
  maxSide: number;
  signal?: AbortSignal;
}

export async function describeImage(
  describer: Describer,
  image: { bytes: Buffer; facts: ImageFacts; category: string; tags: string[] },
  options: DescribeImageOptions,
  at: { stage: Stage } = { stage: 'decode' },
): Promise<Description> {
  at.stage = 'decode';
  const frames = await prepareVlmFrames(image.bytes, image.facts, options.limits, {
    maxSide: options.maxSide,
    maxFrames: describer.maxFrames ?? 1,
  });
  at.stage = 'describe';
  const started = performance.now();
  const answer = await describer.describe({
    frames,
    category: image.category,
    tags: image.tags,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { ...answer, cost: { frames: frames.length, ms: Math.round(performance.now() - started) } };
}
