/**
 * The pure parts of the offline OCR engine: geometry, text boxes from a
 * probability map, line crops and decoding. The whole engine is checked
 * against real pictures in test/integration/local-describer.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { textBoxes } from '../../src/providers/vlm/ocr/boxes.js';
import { cropLine } from '../../src/providers/vlm/ocr/crop.js';
import { convexHull, minAreaRect, orderBox, type Point, type Quad } from '../../src/providers/vlm/ocr/geometry.js';
import { ctcDecode, groupLines } from '../../src/providers/vlm/ocr/lines.js';

const sorted = (points: Point[]) => [...points].map(([x, y]) => [Math.round(x * 1e6) / 1e6, Math.round(y * 1e6) / 1e6]).sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);

describe('geometry', () => {
  it('hulls a point set without interior or collinear points', () => {
    const hull = convexHull([[0, 0], [2, 0], [4, 0], [4, 3], [0, 3], [2, 1], [1, 2]]);
    assert.deepEqual(sorted(hull), [[0, 0], [0, 3], [4, 0], [4, 3]]);
  });

  it('finds the smallest rectangle, rotated when the points are', () => {
    const upright = minAreaRect([[1, 1], [9, 1], [9, 4], [1, 4], [5, 2]]);
    assert.deepEqual([upright.width * upright.height, upright.shortSide], [24, 3]);
    // A 10 x 2 bar turned 45 degrees.
    const c = Math.SQRT1_2;
    const bar: Point[] = [[0, 0], [10 * c, 10 * c], [10 * c - 2 * c, 10 * c + 2 * c], [-2 * c, 2 * c]];
    const turned = minAreaRect(bar);
    assert.ok(Math.abs(turned.width * turned.height - 20) < 1e-9);
    assert.ok(Math.abs(turned.shortSide - 2) < 1e-9);
  });

  it('orders corners as PaddleOCR does: left-top, right-top, right-bottom, left-bottom', () => {
    assert.deepEqual(orderBox([[9, 4], [1, 1], [1, 4], [9, 1]]), [[1, 1], [9, 1], [9, 4], [1, 4]]);
  });
});

describe('textBoxes', () => {
  function map(width: number, height: number, blobs: Array<[number, number, number, number]>): Float32Array {
    const p = new Float32Array(width * height);
    for (const [x0, y0, x1, y1] of blobs) for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) p[y * width + x] = 0.9;
    return p;
  }

  it('gives one box per region, grown around it, inside the picture', () => {
    const boxes = textBoxes(map(64, 32, [[10, 10, 49, 19], [2, 28, 3, 29]]), 64, 32);
    assert.equal(boxes.length, 1, 'the 2x2 speck is dropped');
    const [box] = boxes as [Quad];
    // 39 x 9 between pixel centres, grown by 1.5 x area / perimeter = 5.48 px on each side, rounded.
    assert.deepEqual(box, [[5, 5], [54, 5], [54, 24], [5, 24]]);
  });

  it('keeps boxes within the picture and ignores probabilities at or below 0.03', () => {
    const p = map(40, 20, [[0, 0, 39, 7]]);
    p.fill(0.03, 40 * 12);
    const boxes = textBoxes(p, 40, 20);
    assert.equal(boxes.length, 1);
    for (const [x, y] of boxes[0]!) assert.ok(x >= 0 && x <= 40 && y >= 0 && y <= 20);
  });
});

describe('cropLine', () => {
  const picture = (width: number, height: number) => {
    const data = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) data.set([i % 256, Math.floor(i / width), 7, 255], i * 4);
    return { data, width, height };
  };

  it('copies an upright box pixel for pixel', () => {
    const image = picture(20, 10);
    const line = cropLine(image, [[3, 2], [13, 2], [13, 6], [3, 6]]);
    assert.deepEqual([line.width, line.height], [10, 4]);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 10; x++) {
        const at = ((y + 2) * 20 + x + 3) * 4;
        assert.deepEqual([...line.data.subarray((y * 10 + x) * 4, (y * 10 + x) * 4 + 4)], [...image.data.subarray(at, at + 4)]);
      }
    }
  });

  it('lays a tall line flat', () => {
    const line = cropLine(picture(20, 30), [[2, 2], [6, 2], [6, 22], [2, 22]]);
    assert.deepEqual([line.width, line.height], [20, 4]);
  });
});

describe('decoding lines', () => {
  it('decodes CTC: blanks dropped, repeats folded, confidence averaged over kept steps', () => {
    const steps = [
      [0.9, 0.05, 0.05], // blank
      [0.1, 0.8, 0.1], // a
      [0.1, 0.6, 0.3], // a again: folded
      [0.7, 0.2, 0.1], // blank
      [0.2, 0.4, 0.4], // a (first of equal maxima)
      [0.1, 0.1, 0.8], // b
    ];
    const decoded = ctcDecode(steps.flat(), steps.length, 3, ['a', 'b']);
    assert.equal(decoded.text, 'aab');
    assert.ok(Math.abs(decoded.mean - (0.8 + 0.4 + 0.8) / 3) < 1e-9);
    assert.deepEqual(ctcDecode([1, 0, 1, 0], 2, 2, ['x']), { text: '', mean: 0 });
  });

  it('groups boxes on one midline into a row, left to right; drops lines under 0.5', () => {
    const box = (x: number, y: number): Quad => [[x, y], [x + 40, y], [x + 40, y + 20], [x, y + 20]];
    const lines = groupLines([
      { text: '右', mean: 0.9, box: box(100, 12) },
      { text: '下', mean: 0.8, box: box(0, 60) },
      { text: '左', mean: 0.7, box: box(0, 10) },
      { text: '噪', mean: 0.4, box: box(0, 120) },
    ]);
    assert.deepEqual(lines.map((l) => l.text), ['左 右', '下']);
    assert.ok(Math.abs(lines[0]!.confidence - 0.8) < 1e-9);
    assert.deepEqual(lines[0]!.box, [[0, 10], [140, 12], [140, 32], [0, 30]]);
  });
});
