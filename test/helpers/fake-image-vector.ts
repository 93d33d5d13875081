/**
 * The fake provider's image embedding (fake-openai-server.ts): a stand-in
 * for a multimodal model, deterministic and cheap, under which copies of a
 * picture are near and other pictures far, so picture search can be ranked
 * end to end through the real clients.
 */
import sharp from 'sharp';
import { seededRandom } from './seeded-random.js';

const FAKE_SIDE = 16;
/** Spread of the centre weighting, as a fraction of the picture's side. */
const FAKE_FOCUS = 0.25;
const projections = new Map<string, Float32Array>();

/**
 * A picture's fake embedding: its 16×16 RGB downscale, centred on its mean
 * and weighed towards the middle (a model attends to the subject more than
 * to a caption bar or a corner stamp), as a unit vector. With `dims` of at
 * least 768 the pixels are the vector (zero-padded) and angles are exact;
 * fewer go through a fixed random projection, which keeps them roughly.
 * Copies of a picture come out close, others far; a mirror is another picture.
 */
export async function fakeImageVector(image: string, dims: number): Promise<Float32Array> {
  const bytes = Buffer.from(image.replace(/^data:[^,]*,/, ''), 'base64');
  const pixels = await sharp(bytes).flatten({ background: '#ffffff' }).removeAlpha().resize(FAKE_SIDE, FAKE_SIDE, { fit: 'fill' }).raw().toBuffer();
  const mean = pixels.reduce((sum, p) => sum + p, 0) / pixels.length;
  const features = Float32Array.from(pixels, (p, i) => {
    const cell = Math.floor(i / 3);
    const x = (cell % FAKE_SIDE) / (FAKE_SIDE - 1) - 0.5;
    const y = Math.floor(cell / FAKE_SIDE) / (FAKE_SIDE - 1) - 0.5;
    return (p - mean) * Math.exp(-(x * x + y * y) / (2 * FAKE_FOCUS * FAKE_FOCUS));
  });
  const v = dims >= features.length ? features : project(features, dims);
  const out = new Float32Array(dims);
  const norm = Math.hypot(...v) || 1;
  v.forEach((x, i) => (out[i] = x / norm));
  return out;
}

function project(features: Float32Array, dims: number): Float32Array {
  const key = `${features.length}x${dims}`;
  let projection = projections.get(key);
  if (!projection) {
    const random = seededRandom(dims);
    projection = Float32Array.from({ length: dims * features.length }, () => random() * 2 - 1);
    projections.set(key, projection);
  }
  const v = new Float32Array(dims);
  for (let d = 0; d < dims; d++) {
    let sum = 0;
    for (let i = 0; i < features.length; i++) sum += features[i]! * projection[d * features.length + i]!;
    v[d] = sum;
  }
  return v;
}
