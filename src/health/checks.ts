/**
 * The individual checks of `emomo doctor`. Each does one small real thing
 * (open the database, a storage round trip, one provider request) and
 * returns a detail line; a thrown error becomes a FAIL with a hint.
 */
import sharp from 'sharp';
import type { EmbeddingConfig } from '../config/types.js';
import { EmomoError } from '../errors.js';
import type { Describer, Embedder, ObjectStorage } from '../ports.js';
import { newProbeKey } from '../storage/object-key.js';
import { inspectStore, type DatabaseLocation } from '../store/open-store.js';

/** A check that found a problem without an exception: detail and hint as given. */
export class CheckFailed extends EmomoError {
  override name = 'CheckFailed';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/**
 * Asks the store to describe itself read-only (no migration, no file created)
 * and compares its schema version and collection dimensions with what this
 * build and the config expect.
 */
export async function checkDatabase(
  location: DatabaseLocation,
  embeddings: readonly EmbeddingConfig[],
  configFile: string,
): Promise<string> {
  const d = await inspectStore(location);
  if (!d.exists) return `${d.location} does not exist yet; the first ingest creates it`;
  if (d.schemaVersion > d.latestVersion) {
    throw new CheckFailed(
      `${d.location}: schema version ${d.schemaVersion} is newer than this emomo supports (${d.latestVersion})`,
      'upgrade emomo',
    );
  }
  const mismatches = embeddings.flatMap((e) => {
    const stored = d.collections.find((c) => c.name === e.collection);
    return stored && stored.dims !== e.dimensions
      ? [`collection "${e.collection}" stores ${stored.dims} dims but embedding "${e.name}" is configured with ${e.dimensions}`]
      : [];
  });
  if (mismatches.length > 0) {
    throw new CheckFailed(mismatches.join('; '), `fix dimensions in ${configFile}, or give the embedding its own collection name`);
  }
  const upgrade = d.schemaVersion < d.latestVersion ? ` (upgraded to ${d.latestVersion} on the next write)` : '';
  const list = d.collections.map((c) => `${c.name} ${c.dims}d`).join(', ') || 'no collections yet';
  return `${d.location}: schema v${d.schemaVersion}${upgrade}, ${d.memes} memes; ${list}`;
}

/** Writes, reads back and deletes a probe object under a reserved key that can never be an image. */
export async function checkStorage(storage: ObjectStorage): Promise<string> {
  const key = newProbeKey();
  const body = Buffer.from(`emomo doctor ${new Date().toISOString()}`);
  const { created } = await storage.put(key, body, 'text/plain');
  if (!created) throw new CheckFailed(`${storage.label}: probe key ${key} already existed`);
  try {
    const back = await storage.get(key);
    if (!back.equals(body)) throw new CheckFailed(`${storage.label}: read back ${back.length} bytes that differ from the ${body.length} written`);
  } finally {
    await storage.delete(key);
  }
  if (await storage.exists(key)) throw new CheckFailed(`${storage.label}: the probe object is still there after delete`);
  return `${storage.label}: write, read and delete OK`;
}

/** A tiny image with a word on it: enough for OCR to run and a vision model to answer. */
async function probeImage(): Promise<Buffer> {
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="64">' +
    '<rect width="100%" height="100%" fill="white"/>' +
    '<text x="80" y="44" font-size="32" font-family="sans-serif" text-anchor="middle" fill="black">ping</text></svg>';
  return sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer();
}

export async function checkDescriber(describer: Describer, signal: AbortSignal): Promise<string> {
  const result = await describer.describe({ frames: [await probeImage()], category: 'doctor', tags: [], signal });
  const read = result.ocrText.trim() ? `read "${result.ocrText.trim().slice(0, 40)}"` : 'answered (no text read)';
  return `${describer.model} (prompt ${describer.promptVersion}): ${read}`;
}

export async function checkEmbedder(embedding: EmbeddingConfig, embedder: Embedder, signal: AbortSignal): Promise<string> {
  const [vector] = await embedder.embed(['ping'], 'query', signal);
  if (!vector) throw new CheckFailed(`${embedder.model}: returned no vector`);
  if (vector.length !== embedding.dimensions) {
    throw new CheckFailed(
      `${embedder.model} returned ${vector.length} dimensions, the config says ${embedding.dimensions}`,
      `wrong dimension: set dimensions: ${vector.length} for embedding "${embedding.name}" (with a new collection name), or ask the model for ${embedding.dimensions}`,
    );
  }
  if (!vector.every(Number.isFinite)) throw new CheckFailed(`${embedder.model}: the vector holds non-finite numbers`);
  return `${embedder.model}: ${vector.length} dims → collection ${embedding.collection}`;
}
