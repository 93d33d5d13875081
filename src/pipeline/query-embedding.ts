/**
 * A recall query embedded within its time budget (`--timeout`): a text
 * through the model's text side, or a picture through its image side. A late
 * provider is aborted, not awaited; loading the client library counts
 * against the budget, which starts with the search.
 */
import type { Embedder } from '../ports.js';
import type { CollectionInfo } from '../store/ports.js';

/** Embedder with no text side (the offline picture signature): its collection is searched by picture only. */
export class NoTextSide extends Error {
  constructor(model: string, collection: string) {
    super(`collection "${collection}" holds picture signatures (${model}), which have no text side: search it with --image`);
  }
}

export function checkQueryVector(vector: Float32Array | undefined, coll: CollectionInfo): asserts vector is Float32Array {
  if (!vector || vector.length !== coll.dims) {
    throw new Error(`the embedder returned a ${vector?.length ?? 0}-dimensional vector; collection "${coll.name}" holds ${coll.dims}`);
  }
}

/** The `--timeout` asked for, and what is left of it when the embedding starts. */
export interface QueryBudget {
  timeoutMs: number;
  leftMs: number;
}

export async function embedQueryWithin(
  embedder: Embedder,
  query: { text: string } | { picture: Buffer },
  coll: CollectionInfo,
  { timeoutMs, leftMs }: QueryBudget,
  stop?: AbortSignal,
): Promise<Float32Array> {
  const controller = new AbortController();
  const signal = AbortSignal.any(stop ? [controller.signal, stop] : [controller.signal]);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`query embedding did not answer within ${timeoutMs} ms (--timeout)`);
      controller.abort(err);
      reject(err);
    }, leftMs);
  });
  const call = (): Promise<Float32Array[]> => {
    if ('text' in query) return embedder.embed([query.text], 'query', signal);
    if (embedder.input !== 'image' || !embedder.embedImages) throw new Error(`collection "${coll.name}" (${embedder.model}) holds text vectors: pick an embedding with input: image to search by picture`);
    return embedder.embedImages([query.picture], 'query', signal);
  };
  try {
    await Promise.race([embedder.ready?.(), timeout]);
    const [vector] = await Promise.race([call(), timeout]);
    checkQueryVector(vector, coll);
    return vector;
  } finally {
    clearTimeout(timer);
  }
}
