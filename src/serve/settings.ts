/**
 * What `emomo serve` runs with: the config's `serve` section, the flags over
 * it, and the token from the flag or EMOMO_SERVE_TOKEN. Binding beyond
 * loopback without a token is refused unless `--public` says it is meant.
 */
import { isIP } from 'node:net';
import type { ServeConfig } from '../config/types.js';
import { UsageError } from '../errors.js';

export const TOKEN_ENV = 'EMOMO_SERVE_TOKEN';

export interface ServeFlags {
  host?: string;
  port?: number;
  token?: string;
  public?: boolean;
  /** Server processes sharing the port (workers.ts); 1: this process serves. */
  workers?: number;
}

export interface ServeSettings extends ServeConfig {
  /** Bearer token every API and object request must carry; undefined: none asked. */
  token?: string;
  /** Serving beyond loopback without a token was asked for explicitly. */
  public: boolean;
}

/** Shortest token accepted: a guessable token is no protection. */
const MIN_TOKEN_CHARS = 16;

export function serveSettings(config: ServeConfig, flags: ServeFlags, env: NodeJS.ProcessEnv): ServeSettings {
  const token = (flags.token ?? env[TOKEN_ENV])?.trim() || undefined;
  const settings: ServeSettings = { ...config, host: flags.host ?? config.host, port: flags.port ?? config.port, public: !!flags.public };
  if (token !== undefined) settings.token = token;
  if (token !== undefined && token.length < MIN_TOKEN_CHARS) {
    throw new UsageError(`the token is ${token.length} characters; use at least ${MIN_TOKEN_CHARS} (e.g. the output of: openssl rand -hex 24)`);
  }
  if (!isLoopback(settings.host) && token === undefined && !settings.public) {
    throw new UsageError(
      `--host ${settings.host} lets other machines reach the library: give a token that clients send as ` +
        `"Authorization: Bearer <token>" (--token or ${TOKEN_ENV}), or pass --public to serve it to anyone who can connect`,
    );
  }
  return settings;
}

/** 127.0.0.0/8, ::1 and localhost: only this machine can connect. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && mapped[1]!.startsWith('127.');
}
