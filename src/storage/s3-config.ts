/**
 * From the `storage:` section and the environment to S3Storage options.
 * Credentials come from STORAGE_ACCESS_KEY / STORAGE_SECRET_KEY only; a
 * missing one is a ConfigError that names the variable, never a value.
 */
import { requireSecret } from '../config/load.js';
import type { StorageConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import type { S3StorageOptions } from './s3-storage.js';

export const STORAGE_ACCESS_KEY_ENV = 'STORAGE_ACCESS_KEY';
export const STORAGE_SECRET_KEY_ENV = 'STORAGE_SECRET_KEY';

export function s3OptionsFromConfig(storage: StorageConfig, env: NodeJS.ProcessEnv, file: string): S3StorageOptions {
  const { type, bucket, endpoint, publicUrl } = storage;
  if (type === 'local' || !bucket) throw new ConfigError(file, 'storage.bucket', `is required when type is ${type}`);
  const what = `${type} storage (bucket "${bucket}")`;
  const accessKeyId = requireSecret(env, STORAGE_ACCESS_KEY_ENV, what);
  const secretAccessKey = requireSecret(env, STORAGE_SECRET_KEY_ENV, what);
  return {
    bucket,
    region: regionFor(storage, file),
    ...(endpoint ? { endpoint } : {}),
    ...(publicUrl ? { publicUrl } : {}),
    forcePathStyle: storage.forcePathStyle,
    accessKeyId,
    secretAccessKey,
    label: `${type}:${bucket}${endpoint ? `@${new URL(endpoint).host}` : ''}`,
  };
}

/**
 * R2 always signs for "auto". AWS S3 needs the bucket's real region. Other
 * S3-compatible servers (MinIO, Ceph...) left at "auto" get us-east-1, the
 * region they accept by default.
 */
function regionFor(storage: StorageConfig, file: string): string {
  if (storage.type === 'r2') return 'auto';
  if (storage.region !== 'auto') return storage.region;
  if (!storage.endpoint) {
    throw new ConfigError(file, 'storage.region', 'set the bucket\'s region (e.g. us-east-1) for AWS S3, or an endpoint for an S3-compatible server');
  }
  return 'us-east-1';
}
