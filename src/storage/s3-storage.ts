/**
 * Object storage in an S3-compatible bucket (AWS S3, Cloudflare R2, MinIO...)
 * through @aws-sdk/client-s3.
 *
 * `put` never rewrites: a HEAD first reuses an object that is already there
 * (created: false), and the PUT itself carries `If-None-Match: *`, so a
 * concurrent writer that won the race is detected (412) on servers that
 * support conditional writes (S3, R2, recent MinIO). Servers that answer 501
 * to the condition get plain PUTs from then on; the HEAD still prevents
 * re-uploads. A PUT is atomic on S3, and Content-MD5 makes the server reject
 * bytes damaged on the way.
 *
 * The SDK is imported on first use, so commands on local storage never pay
 * for loading it.
 */
import { createHash } from 'node:crypto';
import type * as S3 from '@aws-sdk/client-s3';
import type { ObjectStorage, PutResult } from '../ports.js';
import { assertStorableKey, isObjectKey } from './object-key.js';
import { isNotFound, s3Error, s3Failure } from './s3-errors.js';

export interface S3StorageOptions {
  bucket: string;
  region: string;
  /** Unset for AWS S3; the account endpoint for R2; the server URL for MinIO and others. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** Base URL objects are served from (CDN, custom domain); `url()` uses it when set. */
  publicUrl?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Shown in logs, e.g. "s3:emomo@minio.local:9000". */
  label?: string;
  /** Keys per ListObjectsV2 page (1-1000). */
  pageSize?: number;
  /** Attempts per request, first included: the SDK retries throttling, 5xx and network errors with backoff. */
  maxAttempts?: number;
  /** Whole-request timeout; a hung request fails (and is retried) instead of stalling a worker. */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
}

type Sdk = typeof S3;

export class S3Storage implements ObjectStorage {
  readonly label: string;
  private readonly bucket: string;
  private readonly pageSize: number;
  private conditionalPuts = true;
  private sdk?: Promise<{ sdk: Sdk; client: S3.S3Client }>;

  constructor(private readonly options: S3StorageOptions) {
    this.bucket = options.bucket;
    this.pageSize = Math.min(1000, Math.max(1, options.pageSize ?? 1000));
    this.label = options.label ?? `s3:${options.bucket}${options.endpoint ? `@${new URL(options.endpoint).host}` : ''}`;
  }

  async put(key: string, data: Buffer, contentType: string): Promise<PutResult> {
    assertStorableKey(key);
    if (await this.exists(key)) return { created: false };
    const { sdk, client } = await this.client();
    const input: S3.PutObjectCommandInput = {
      Bucket: this.bucket,
      Key: key,
      Body: data,
      ContentType: contentType,
      ContentLength: data.length,
      ContentMD5: createHash('md5').update(data).digest('base64'),
    };
    try {
      await client.send(new sdk.PutObjectCommand(this.conditionalPuts ? { ...input, IfNoneMatch: '*' } : input));
      return { created: true };
    } catch (err) {
      const f = s3Failure(err);
      // Someone stored the key between our HEAD and PUT: theirs stays, ours was not written.
      if (f.status === 412 || f.code === 'PreconditionFailed') return { created: false };
      // A concurrent conditional write is in flight (S3 answers 409); whoever finishes owns the key.
      if (f.status === 409 && (await this.exists(key))) return { created: false };
      if (this.conditionalPuts && (f.status === 501 || f.code === 'NotImplemented')) {
        this.conditionalPuts = false;
        return this.put(key, data, contentType);
      }
      throw s3Error('PUT', key, err);
    }
  }

  async exists(key: string): Promise<boolean> {
    assertStorableKey(key);
    const { sdk, client } = await this.client();
    try {
      await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (isNotFound(s3Failure(err))) return false;
      throw s3Error('HEAD', key, err);
    }
  }

  async get(key: string): Promise<Buffer> {
    assertStorableKey(key);
    const { sdk, client } = await this.client();
    try {
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!out.Body) throw new Error('empty response body');
      return Buffer.from(await out.Body.transformToByteArray());
    } catch (err) {
      throw s3Error('GET', key, err);
    }
  }

  async delete(key: string): Promise<void> {
    assertStorableKey(key);
    const { sdk, client } = await this.client();
    try {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isNotFound(s3Failure(err))) return;
      throw s3Error('DELETE', key, err);
    }
  }

  /**
   * Every image key, one ListObjectsV2 page at a time. Anything else in the
   * bucket (probe objects, files another tool keeps there) is not part of the
   * library and is never yielded, so `verify --repair` can never delete it.
   */
  async *list(): AsyncIterable<string> {
    const { sdk, client } = await this.client();
    let token: string | undefined;
    do {
      let page: S3.ListObjectsV2CommandOutput;
      try {
        page = await client.send(
          new sdk.ListObjectsV2Command({ Bucket: this.bucket, MaxKeys: this.pageSize, ContinuationToken: token }),
        );
      } catch (err) {
        throw s3Error('LIST', this.bucket, err);
      }
      for (const object of page.Contents ?? []) if (object.Key && isObjectKey(object.Key)) yield object.Key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  url(key: string): string {
    const path = key.split('/').map(encodeURIComponent).join('/');
    const { publicUrl, endpoint, forcePathStyle, region } = this.options;
    if (publicUrl) return `${publicUrl.replace(/\/+$/, '')}/${path}`;
    if (!endpoint) return `https://${this.bucket}.s3.${region}.amazonaws.com/${path}`;
    const base = new URL(endpoint);
    const prefix = base.pathname.replace(/\/+$/, '');
    if (forcePathStyle) return `${base.protocol}//${base.host}${prefix}/${this.bucket}/${path}`;
    return `${base.protocol}//${this.bucket}.${base.host}${prefix}/${path}`;
  }

  async close(): Promise<void> {
    if (this.sdk) (await this.sdk).client.destroy();
  }

  private client(): Promise<{ sdk: Sdk; client: S3.S3Client }> {
    this.sdk ??= import('@aws-sdk/client-s3').then((sdk) => ({ sdk, client: this.createClient(sdk) }));
    return this.sdk;
  }

  private createClient(sdk: Sdk): S3.S3Client {
    const o = this.options;
    // The SDK warns on every start under Node < 22 about releases it has not
    // shipped yet: seven lines of noise in every cron log. The SDK's own switch
    // turns it off unless the operator set it.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    return new sdk.S3Client({
      region: o.region,
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      forcePathStyle: o.forcePathStyle,
      credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
      maxAttempts: o.maxAttempts ?? 3,
      retryMode: 'standard',
      requestHandler: {
        connectionTimeout: o.connectionTimeoutMs ?? 5_000,
        requestTimeout: o.requestTimeoutMs ?? 30_000,
        throwOnRequestTimeout: true,
      },
      // Many S3-compatible servers reject the SDK's newer default CRC32 checksums;
      // Content-MD5 already guards the upload.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }
}
