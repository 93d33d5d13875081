/** Content-addressed object keys: `{md5[0:2]}/{md5}.{ext}` (prefix shards, natural dedup). */
import { randomBytes } from 'node:crypto';

export function objectKey(md5: string, ext: string): string {
  return `${md5.slice(0, 2)}/${md5}.${ext}`;
}

const KEY = /^[0-9a-f]{2}\/[0-9a-f]{32}\.[a-z0-9]{2,5}$/;

export function isObjectKey(key: string): boolean {
  return KEY.test(key);
}

/**
 * `emomo doctor` proves storage works with a write/read/delete round trip
 * under this reserved prefix. It can never collide with an image key (those
 * start with two hex digits), and `list()` never yields it, so `verify` and
 * `verify --repair` never see a probe object as part of the library.
 */
export const PROBE_PREFIX = '_emomo-probe/';

const PROBE_KEY = /^_emomo-probe\/[0-9a-z-]{1,64}\.txt$/;

export function newProbeKey(): string {
  return `${PROBE_PREFIX}${Date.now().toString(36)}-${randomBytes(6).toString('hex')}.txt`;
}

export function isProbeKey(key: string): boolean {
  return PROBE_KEY.test(key);
}

/** Keys an adapter accepts for put / get / exists / delete: image keys and probe keys, nothing else. */
export function isStorableKey(key: string): boolean {
  return isObjectKey(key) || isProbeKey(key);
}

/** Throws unless `key` is storable (no traversal, no foreign names). */
export function assertStorableKey(key: string): void {
  if (!isStorableKey(key)) throw new Error(`invalid object key: ${JSON.stringify(key)}`);
}
