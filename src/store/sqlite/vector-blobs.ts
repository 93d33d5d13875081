/** Float32 vectors as SQLite blobs (sqlite-vec's float32 format: the raw little-endian array) and back. */

export function vectorBlob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

/** A copy, so the vector is aligned whatever the blob's offset in its buffer. */
export function blobVector(blob: Buffer): Float32Array {
  return new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
}
