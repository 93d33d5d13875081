/**
 * The `data` array of an OpenAI-shaped (or Jina) embeddings response, back in
 * input order. The vectors themselves are checked (length, NaN) by the caller.
 */
import { RemoteCallError, identityLabel, type ProviderIdentity } from '../remote-failure.js';

export interface EmbeddingDatum {
  index?: number;
  embedding?: unknown;
}

export function vectorsInOrder(data: unknown, expected: number, id: ProviderIdentity): Float32Array[] {
  const fail = (why: string) =>
    // A malformed success is treated like a 5xx: the next attempt may well be fine.
    new RemoteCallError(id.provider, `${identityLabel(id)}: unexpected embeddings response: ${why}`, 200, true);
  if (!Array.isArray(data)) throw fail('no data array');
  if (data.length !== expected) throw fail(`${data.length} vectors for ${expected} texts`);
  const out = new Array<Float32Array | undefined>(expected);
  data.forEach((d: EmbeddingDatum, position) => {
    const index = typeof d?.index === 'number' ? d.index : position;
    if (!Array.isArray(d?.embedding)) throw fail(`item ${position} has no float embedding`);
    if (index < 0 || index >= expected || out[index]) throw fail(`bad or repeated index ${index}`);
    out[index] = Float32Array.from(d.embedding as number[], (x) => (typeof x === 'number' ? x : Number.NaN));
  });
  return out as Float32Array[];
}
