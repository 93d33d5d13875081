/**
 * The memes that show the same picture, found without comparing all pairs:
 * hashes are bucketed by each of their 8 bands (bytes), only hashes sharing
 * a bucket are compared, and pairs within `maxDistance` are joined by
 * union-find, when their colour layouts also agree (similarity.ts). For
 * maxDistance ≤ 7 no pair is missed (phash.ts). Identical hashes and colours
 * are joined first and compared once. Pure, and memory stays at a few
 * typed arrays of the library's size: 100,000 hashes in about a second (see
 * BENCHMARKS.md).
 */
import { colourDistance } from '../images/colour-grid.js';
import { PHASH_BANDS, phashHalves, popcount32 } from '../images/phash.js';

export interface HashedPicture {
  id: number;
  /** The picture hash (phash.ts), 16 hex digits. */
  picture: string;
  /** Its colour layout (colour-grid.ts). */
  colours: string;
}

/** Groups of ids (two or more each) whose pictures connect within `maxDistance` bits and `maxColours` ΔE, smallest id first. */
export function samePictureComponents(memes: readonly HashedPicture[], maxDistance: number, maxColours: number): number[][] {
  const parent = Int32Array.from(memes, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  const union = (a: number, b: number) => {
    const [ra, rb] = [find(a), find(b)];
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };

  // Identical hashes and colours: joined at once; only one of each is compared with the others.
  const first = new Map<string, number>();
  const distinct: number[] = [];
  memes.forEach((m, i) => {
    const key = m.picture + m.colours;
    const seen = first.get(key);
    if (seen === undefined) {
      first.set(key, i);
      distinct.push(i);
    } else union(seen, i);
  });
  const hi = new Uint32Array(distinct.length);
  const lo = new Uint32Array(distinct.length);
  distinct.forEach((i, d) => ([hi[d], lo[d]] = phashHalves(memes[i]!.picture)));

  const order = new Int32Array(distinct.length);
  const starts = new Int32Array(257);
  for (let band = 0; band < PHASH_BANDS; band++) {
    const byte = (d: number) => (band < 4 ? hi[d]! >>> (24 - 8 * band) : lo[d]! >>> (24 - 8 * (band - 4))) & 0xff;
    // Counting sort of the distinct hashes by this band's byte.
    starts.fill(0);
    for (let d = 0; d < distinct.length; d++) starts[byte(d) + 1]!++;
    for (let v = 0; v < 256; v++) starts[v + 1]! += starts[v]!;
    const next = starts.slice(0, 256);
    for (let d = 0; d < distinct.length; d++) order[next[byte(d)]!++] = d;
    for (let v = 0; v < 256; v++) {
      const [from, to] = [starts[v]!, starts[v + 1]!];
      for (let j = from; j < to; j++) {
        const a = order[j]!;
        const [ah, al] = [hi[a]!, lo[a]!];
        for (let k = j + 1; k < to; k++) {
          const b = order[k]!;
          if (popcount32(ah ^ hi[b]!) + popcount32(al ^ lo[b]!) > maxDistance) continue;
          const [ma, mb] = [distinct[a]!, distinct[b]!];
          if (colourDistance(memes[ma]!.colours, memes[mb]!.colours) <= maxColours) union(ma, mb);
        }
      }
    }
  }

  const groups = new Map<number, number[]>();
  memes.forEach((m, i) => {
    const root = find(i);
    const group = groups.get(root);
    if (group) group.push(m.id);
    else groups.set(root, [m.id]);
  });
  return [...groups.values()].filter((g) => g.length > 1).map((g) => g.sort((a, b) => a - b));
}
