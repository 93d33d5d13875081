/**
 * The offline embedder: a deterministic lexical embedding by feature hashing.
 *
 * Honest about what it is: two texts are close when they share words, Han
 * bigrams or characters, not when they mean the same thing ("开心" and "高兴"
 * are unrelated vectors). It needs no model, no key and no network, gives the
 * same vector for the same text on every machine, and has no query/document
 * asymmetry, so both modes return the same vector. Recall asks it for
 * `embedLexicalQuery` instead, which weighs the query by the library (IDF)
 * and may add words of the same meaning (src/lexicon/): stored vectors never
 * depend on the library, so they never go stale.
 */
import type { EmbedMode, Embedder, LexicalQuery } from '../../ports.js';
import { lexicalFeatures, queryFeatures } from './lexical-features.js';

/** Hashed for texts with no features at all, so every text gets a unit vector. */
const EMPTY_FEATURE = '<empty>';

const utf8 = new TextEncoder();

export class LocalEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;

  constructor(opts: { dimensions: number; model?: string }) {
    if (!Number.isInteger(opts.dimensions) || opts.dimensions < 1) {
      throw new RangeError(`LocalEmbedder: dimensions must be a positive integer, got ${opts.dimensions}`);
    }
    this.dimensions = opts.dimensions;
    this.model = opts.model ?? 'local-lexical-v1';
  }

  async embed(texts: string[], _mode: EmbedMode, signal?: AbortSignal): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    return texts.map((text) => this.embedText(text));
  }

  /** The query's features weighed by the library's IDF, plus its expansions (see lexical-features.ts). */
  embedLexicalQuery(query: LexicalQuery): Float32Array {
    return this.unitVector(queryFeatures(query));
  }

  /** One text's vector, synchronously: the embedder does no I/O (bulk writers and benchmarks use this). */
  embedText(text: string): Float32Array {
    return this.unitVector(lexicalFeatures(text));
  }

  private unitVector(features: Map<string, number>): Float32Array {
    // No features (empty, whitespace, punctuation only), or features that
    // cancelled out by colliding with opposite signs: hash a fixed feature
    // instead, so every text still gets a unit vector.
    return (
      normalise(hashFeatures(features, this.dimensions)) ??
      normalise(hashFeatures(new Map([[EMPTY_FEATURE, 1]]), this.dimensions))!
    );
  }
}

function hashFeatures(features: Map<string, number>, dimensions: number): Float64Array {
  const vector = new Float64Array(dimensions);
  for (const [feature, weight] of features) {
    const hash = fnv1a32(utf8.encode(feature));
    // The sign comes from a differently mixed copy of the hash, so it does not
    // depend on the low bits that chose the index.
    const sign = fmix32(hash) & 0x80000000 ? -1 : 1;
    vector[hash % dimensions]! += sign * weight;
  }
  return vector;
}

function normalise(vector: Float64Array): Float32Array | undefined {
  let sumOfSquares = 0;
  for (const value of vector) sumOfSquares += value * value;
  if (!(sumOfSquares > 0)) return undefined;
  const norm = Math.sqrt(sumOfSquares);
  return Float32Array.from(vector, (value) => value / norm);
}

/** FNV-1a, 32 bit, over bytes: the same index in any language that reimplements it. */
function fnv1a32(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** MurmurHash3's 32-bit finaliser: spreads every input bit over the output. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
