/**
 * A real S3-protocol server (s3rver) on 127.0.0.1 with a temporary data
 * directory and a pre-created bucket, for tests that drive the production
 * S3 adapter through @aws-sdk/client-s3. It runs in a child process (see
 * s3rver-process.mjs for why) and reports every object it stores.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { S3StorageOptions } from '../../src/storage/s3-storage.js';
import { projectRoot, type Workspace } from './workspace.js';

/** s3rver accepts signed requests made with this account only. */
export const S3RVER_KEY = 'S3RVER';

export interface S3Fixture {
  endpoint: string;
  bucket: string;
  /** Credentials as the app reads them (pass as createApp's env). */
  env: { STORAGE_ACCESS_KEY: string; STORAGE_SECRET_KEY: string };
  /** Keys stored by PUT requests so far, in order. */
  puts: string[];
  /** Resolves once every PUT the server finished before this call is in `puts`. */
  sync(): Promise<void>;
  /** Options for constructing an S3Storage directly. */
  options(extra?: Partial<S3StorageOptions>): S3StorageOptions;
  stop(): Promise<void>;
}

type Message = { type: 'ready'; port: number } | { type: 'put'; key: string } | { type: 'pong'; id: number };

export async function startS3Server(bucket = 'emomo-test'): Promise<S3Fixture> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'emomo-s3-'));
  const child = fork(path.join(projectRoot, 'test', 'helpers', 's3rver-process.mjs'), [directory, bucket], {
    execArgv: ['--openssl-legacy-provider'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const puts: string[] = [];
  const pongs = new Map<number, () => void>();
  let nextPing = 0;
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`s3rver exited with code ${code} before it was ready`)));
    child.on('message', (m: Message) => {
      if (m.type === 'ready') resolve(m.port);
      else if (m.type === 'put') puts.push(m.key);
      else pongs.get(m.id)?.();
    });
  });
  child.removeAllListeners('exit');
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    env: { STORAGE_ACCESS_KEY: S3RVER_KEY, STORAGE_SECRET_KEY: S3RVER_KEY },
    puts,
    // IPC messages arrive in order and s3rver reports a PUT before it answers it.
    sync: () =>
      new Promise<void>((resolve) => {
        const id = nextPing++;
        pongs.set(id, () => (pongs.delete(id), resolve()));
        child.send({ type: 'ping', id });
      }),
    options: (extra = {}) => ({
      bucket,
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      accessKeyId: S3RVER_KEY,
      secretAccessKey: S3RVER_KEY,
      ...extra,
    }),
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'stop' });
      await exited;
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** The YAML `storage:` section pointing at the fixture's bucket. */
export function s3StorageYaml(s3: Pick<S3Fixture, 'endpoint' | 'bucket'>): string {
  return `storage:\n  type: s3\n  endpoint: ${s3.endpoint}\n  bucket: ${s3.bucket}\n  force_path_style: true\n`;
}

/** Rewrites a workspace's config so its objects go to the fixture's bucket instead of a local folder. */
export function useS3Storage(ws: Workspace, s3: Pick<S3Fixture, 'endpoint' | 'bucket'>): void {
  const text = fs.readFileSync(ws.config, 'utf8');
  const replaced = text.replace(/^storage:\n(?: {2}.*\n)+/m, s3StorageYaml(s3));
  if (replaced === text) throw new Error('workspace config has no storage section to replace');
  fs.writeFileSync(ws.config, replaced);
}
