/** Every vector a provider returns is checked before it can reach a collection. */
import { ProviderError } from '../errors.js';

export function checkVector(vector: Float32Array | undefined, dims: number, model: string): asserts vector is Float32Array {
  if (!vector) throw new ProviderError(model, 'embedding provider returned no vector', undefined, false);
  if (vector.length !== dims) {
    throw new ProviderError(model, `embedding has ${vector.length} dimensions, expected ${dims}`, undefined, false);
  }
  for (let i = 0; i < vector.length; i++) {
    if (!Number.isFinite(vector[i])) {
      throw new ProviderError(model, `embedding contains a non-finite value at index ${i}`, undefined, false);
    }
  }
}
