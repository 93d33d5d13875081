/**
 * `GET /healthz` and `openLibrary().health()`: whether the library answers,
 * and each embedding provider's circuit as recall last left it. Nothing is
 * built or called for the report: a provider recall has not used yet is
 * `not started`, an offline one has no circuit (`null`).
 */
import type { App } from '../app.js';
import type { EmbeddingConfig } from '../config/types.js';
import { errorMessage } from '../errors.js';
import type { BreakerState } from '../resilience/circuit-breaker.js';

export type CircuitReport = BreakerState | 'not started' | null;

export interface HealthJson {
  /** The library answers: recall works, at worst on keywords only. */
  ok: boolean;
  /** A provider's circuit is open or stopped: vector results are missing until it recovers. */
  degraded: boolean;
  library: { reachable: true; memes: number; schema_version: number; collections: string[] } | { reachable: false; error: string };
  providers: Array<{ embedding: string; provider: string; model: string; collection: string; is_default: boolean; circuit: CircuitReport }>;
}

export async function healthReport(app: App): Promise<HealthJson> {
  let library: HealthJson['library'];
  try {
    const d = await app.store.describe();
    library = { reachable: true, memes: d.memes, schema_version: d.schemaVersion, collections: d.collections.map((c) => c.name) };
  } catch (err) {
    library = { reachable: false, error: app.redact(errorMessage(err)) };
  }
  const providers = app.config.embeddings.map((e) => ({
    embedding: e.name,
    provider: e.provider,
    model: e.model,
    collection: e.collection,
    is_default: e.isDefault,
    circuit: circuitOf(app, e),
  }));
  const degraded = providers.some((p) => p.circuit === 'open' || p.circuit === 'half-open' || p.circuit === 'stopped');
  return { ok: library.reachable, degraded, library, providers };
}

function circuitOf(app: App, e: EmbeddingConfig): CircuitReport {
  if (e.provider === 'local') return null;
  return app.builtEmbedder(e.name)?.circuit?.() ?? 'not started';
}
