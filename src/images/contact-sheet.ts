/**
 * Frames tiled into one picture, for models that take a single image: a
 * near-square grid read left to right, top to bottom, white gaps between
 * cells, the whole no larger than `maxSide` (so it costs the image tokens of
 * one still).
 */
import sharp from 'sharp';

/** White space between cells, so the model sees where one frame ends. */
const GAP = 8;

export async function contactSheet(frames: readonly Buffer[], maxSide: number): Promise<Buffer> {
  if (frames.length === 0) throw new RangeError('contactSheet: no frames');
  const metas = await Promise.all(frames.map((f) => sharp(f).metadata()));
  const cellWidth = Math.max(...metas.map((m) => m.width));
  const cellHeight = Math.max(...metas.map((m) => m.height));
  const cols = Math.ceil(Math.sqrt(frames.length));
  const rows = Math.ceil(frames.length / cols);
  const scale = Math.min(1, (maxSide - GAP * (cols - 1)) / (cols * cellWidth), (maxSide - GAP * (rows - 1)) / (rows * cellHeight));
  const w = Math.max(1, Math.floor(cellWidth * scale));
  const h = Math.max(1, Math.floor(cellHeight * scale));
  const tiles = await Promise.all(
    frames.map(async (frame, i) => ({
      input: await sharp(frame).resize(w, h, { fit: 'contain', background: '#fff' }).toBuffer(),
      left: (i % cols) * (w + GAP),
      top: Math.floor(i / cols) * (h + GAP),
    })),
  );
  return sharp({
    create: { width: cols * w + GAP * (cols - 1), height: rows * h + GAP * (rows - 1), channels: 3, background: '#fff' },
  })
    .composite(tiles)
    .jpeg({ quality: 85 })
    .toBuffer();
}
