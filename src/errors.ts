/**
 * The few error classes emomo uses. Whether a failure is worth retrying is a
 * property of the error (see `isPermanent`), not of the code that caught it.
 * Only src/cli turns these into exit codes.
 */

/** Exit codes, documented in README.md. */
export const ExitCode = {
  ok: 0,
  partial: 1,
  usage: 2,
  aborted: 3,
  locked: 4,
  /** An error no code expected: a bug (see src/cli/crash-report.ts). */
  internal: 5,
} as const;

export class EmomoError extends Error {
  override name = 'EmomoError';
}

/** A bad flag or argument: exit 2. */
export class UsageError extends EmomoError {
  override name = 'UsageError';
}

/** An invalid config file or environment: exit 2. Message names the file and key. */
export class ConfigError extends EmomoError {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly key: string,
    problem: string,
  ) {
    super(`${file}: ${key ? `${key}: ` : ''}${problem}`);
  }
}

/** The run stopped early (provider circuit open, signal): exit 3. */
export class AbortedError extends EmomoError {
  override name = 'AbortedError';
}

/** Another run holds the lock this one needs: exit 4. */
export class LockedError extends EmomoError {
  override name = 'LockedError';
}

/** The library's database file is damaged (the engine's own check failed, or it reports corruption): exit 1, nothing changed. */
export class DamagedLibraryError extends EmomoError {
  override name = 'DamagedLibraryError';
}

/** A collection's stored dimension disagrees with the config. */
export class DimensionMismatchError extends EmomoError {
  override name = 'DimensionMismatchError';
}

/** Stages of one item; recorded with every failure. */
export type Stage = 'source' | 'read' | 'decode' | 'describe' | 'store' | 'embed' | 'commit';

/**
 * One item failed at one stage. `permanent` means retrying cannot help
 * (corrupt image, unsupported format, path outside the staging folder).
 */
export class ItemError extends EmomoError {
  override name = 'ItemError';
  constructor(
    readonly stage: Stage,
    message: string,
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A remote provider (or object storage) refused or failed a request. */
export class ProviderError extends EmomoError {
  override name = 'ProviderError';
  /** The service's own error code when it gave one (`AccessDenied`, `NoSuchBucket`). */
  readonly code?: string;
  constructor(
    readonly provider: string,
    message: string,
    readonly status?: number,
    readonly retryable = false,
    options?: { cause?: unknown; code?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.code !== undefined) this.code = options.code;
  }
}

/** True when retrying the same work later cannot succeed. */
export function isPermanent(err: unknown): boolean {
  if (err instanceof ItemError) return err.permanent;
  if (err instanceof ProviderError) return !err.retryable;
  return false;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
