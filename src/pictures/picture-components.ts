/**
 * The memes that show the same picture, found without comparing all pairs
 * (multi-index hashing): the 64-bit picture hash is cut into 4 blocks of 16
 * bits; two hashes within d bits differ by at most ⌊d/4⌋ bits in at least
 * one block (pigeonhole), so each hash looks only in the buckets of its
 * blocks' values within that many bits (17 buckets a block for d = 7), and
 * compares the few hashes there. Pairs within `maxDistance` whose colour
 * layouts also agree (similarity.ts) are joined by union-find. Identical
 * hashes with identical colours are joined first and stand in the buckets
 * once (a library of flat pictures, all hashing to zero, costs nothing).
 * A colour layout that cannot be read (not 24 hex digits) joins nothing.
 *
 * Pure; the hashes sit in typed arrays (PictureTable, about 30 bytes a meme,
 * filled page by page), never in one object per meme: 100,000 hashes group
 * in a fraction of a second (BENCHMARKS.md).
 */
import { COLOUR_BYTES, packColours, packedColourDistance } from '../images/colour-grid.js';
import { phashHalves, popcount32 } from '../images/phash.js';

export interface HashedPicture {
  id: number;
  /** The picture hash (phash.ts), 16 hex digits. */
  picture: string;
  /** Its colour layout (colour-grid.ts). */
  colours: string;
}

const BLOCKS = 4;
const BLOCK_VALUES = 1 << 16;

/** Picture hashes and colour layouts of many memes, packed in growing typed arrays. */
export class PictureTable {
  size = 0;
  ids = new Float64Array(1024);
  hi = new Uint32Array(1024);
  lo = new Uint32Array(1024);
  colours = new Uint8Array(1024 * COLOUR_BYTES);
  /** 1 where the colour layout could not be read: such a meme is like no other. */
  unreadable = new Uint8Array(1024);

  add(meme: HashedPicture): void {
    if (this.size === this.ids.length) this.grow();
    const i = this.size++;
    this.ids[i] = meme.id;
    [this.hi[i], this.lo[i]] = phashHalves(meme.picture);
    this.unreadable[i] = packColours(meme.colours, this.colours, i * COLOUR_BYTES) ? 0 : 1;
  }

  private grow(): void {
    const bigger = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const out = make(a.length * 2);
      out.set(a);
      return out;
    };
    this.ids = bigger(this.ids, (n) => new Float64Array(n));
    this.hi = bigger(this.hi, (n) => new Uint32Array(n));
    this.lo = bigger(this.lo, (n) => new Uint32Array(n));
    this.colours = bigger(this.colours, (n) => new Uint8Array(n));
    this.unreadable = bigger(this.unreadable, (n) => new Uint8Array(n));
  }

  static of(memes: readonly HashedPicture[]): PictureTable {
    const table = new PictureTable();
    for (const m of memes) table.add(m);
    return table;
  }
}

/** Groups of ids (two or more each) whose pictures connect within `maxDistance` bits and `maxColours` ΔE, smallest id first; groups in the order of their first meme. */
export function samePictureComponents(memes: readonly HashedPicture[] | PictureTable, maxDistance: number, maxColours: number): number[][] {
  const t = memes instanceof PictureTable ? memes : PictureTable.of(memes);
  const n = t.size;
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
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

  const distinct = joinIdentical(t, union);
  const size = distinct.length;
  const masks = blockMasks(Math.floor(maxDistance / BLOCKS));
  const starts = new Int32Array(BLOCK_VALUES + 1);
  // Per block, the distinct hashes sorted by the block's value: their meme index and both halves side by side,
  // so a bucket is read in order.
  const [memeAt, hiAt, loAt] = [new Int32Array(size), new Uint32Array(size), new Uint32Array(size)];
  const compare = (a: number, q: number) => {
    const b = memeAt[q]!;
    if (popcount32(t.hi[a]! ^ hiAt[q]!) + popcount32(t.lo[a]! ^ loAt[q]!) > maxDistance) return;
    if (t.unreadable[a] || t.unreadable[b] || find(a) === find(b)) return;
    if (packedColourDistance(t.colours, a, b) <= maxColours) union(a, b);
  };
  for (let block = 0; block < BLOCKS; block++) {
    const half = block < 2 ? t.hi : t.lo;
    const shift = block % 2 === 0 ? 16 : 0;
    const value = (i: number) => (half[i]! >>> shift) & 0xffff;
    starts.fill(0);
    for (let d = 0; d < size; d++) starts[value(distinct[d]!) + 1]!++;
    for (let v = 0; v < BLOCK_VALUES; v++) starts[v + 1]! += starts[v]!;
    const next = starts.slice(0, BLOCK_VALUES);
    for (let d = 0; d < size; d++) {
      const i = distinct[d]!;
      const q = next[value(i)]!++;
      [memeAt[q], hiAt[q], loAt[q]] = [i, t.hi[i]!, t.lo[i]!];
    }
    // Each pair once per block and mask: within a bucket, the later entries; across buckets, from the lower value.
    for (let v = 0; v < BLOCK_VALUES; v++) {
      const [from, to] = [starts[v]!, starts[v + 1]!];
      for (let p = from; p < to; p++) {
        const a = memeAt[p]!;
        for (let q = p + 1; q < to; q++) compare(a, q);
        for (let m = 1; m < masks.length; m++) {
          const w = v ^ masks[m]!;
          if (w < v) continue;
          for (let q = starts[w]!, end = starts[w + 1]!; q < end; q++) compare(a, q);
        }
      }
    }
  }

  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const root = find(i);
    const group = groups.get(root);
    if (group) group.push(t.ids[i]!);
    else groups.set(root, [t.ids[i]!]);
  }
  return [...groups.values()].filter((g) => g.length > 1).map((g) => g.sort((a, b) => a - b));
}

/** Joins memes with identical hashes and colour layouts; returns one index of each, ascending. */
function joinIdentical(t: PictureTable, union: (a: number, b: number) => void): Int32Array {
  const sameColours = (a: number, b: number) => {
    for (let k = 0; k < COLOUR_BYTES; k++) if (t.colours[a * COLOUR_BYTES + k] !== t.colours[b * COLOUR_BYTES + k]) return false;
    return true;
  };
  const order = new Int32Array(t.size);
  for (let i = 0; i < t.size; i++) order[i] = i;
  order.sort((a, b) => t.hi[a]! - t.hi[b]! || t.lo[a]! - t.lo[b]! || a - b);
  const keep = new Uint8Array(t.size).fill(1);
  for (let s = 0; s < t.size; ) {
    let e = s + 1;
    while (e < t.size && t.hi[order[e]!] === t.hi[order[s]!] && t.lo[order[e]!] === t.lo[order[s]!]) e++;
    // Within a run of one hash, each readable meme joins the first one of its colours.
    for (let x = s; x < e; x++) {
      const a = order[x]!;
      if (!keep[a] || t.unreadable[a]) continue;
      for (let y = x + 1; y < e; y++) {
        const b = order[y]!;
        if (keep[b] && !t.unreadable[b] && sameColours(a, b)) {
          union(a, b);
          keep[b] = 0;
        }
      }
    }
    s = e;
  }
  const out: number[] = [];
  for (let i = 0; i < t.size; i++) if (keep[i]) out.push(i);
  return Int32Array.from(out);
}

/** Every 16-bit mask with at most `radius` bits set (0 first). */
function blockMasks(radius: number): Int32Array {
  const masks: number[] = [];
  for (let m = 0; m < BLOCK_VALUES; m++) if (popcount32(m) <= radius) masks.push(m);
  return Int32Array.from(masks);
}
