/**
 * Stops a run instead of failing every item when a provider keeps failing:
 * it opens after `threshold` consecutive failed calls (each already retried),
 * or at once when the provider rejects the key. Once open it stays open for
 * the rest of the run (the App, and so the breaker, lives for one command).
 * The error it raises is an AbortedError: the pipeline undoes the item
 * without recording it as failed and stops taking new items (exit 3).
 */
import { AbortedError } from '../../errors.js';

export class ProviderAbortedError extends AbortedError {
  override name = 'ProviderAbortedError';
  constructor(
    readonly provider: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export const DEFAULT_BREAKER_THRESHOLD = 5;

export class CircuitBreaker {
  private consecutive = 0;
  private openedWith?: ProviderAbortedError;

  constructor(readonly threshold: number = DEFAULT_BREAKER_THRESHOLD) {
    if (!(threshold >= 1)) throw new RangeError(`threshold must be at least 1, got ${threshold}`);
  }

  get isOpen(): boolean {
    return this.openedWith !== undefined;
  }

  /** Throws the error that opened the circuit, if it is open. */
  check(): void {
    if (this.openedWith) throw this.openedWith;
  }

  recordSuccess(): void {
    this.consecutive = 0;
  }

  /** Counts one failed call; true when this failure should open the circuit. */
  recordFailure(): boolean {
    this.consecutive++;
    return this.consecutive >= this.threshold;
  }

  /** Opens the circuit; the first reason given is the one every later caller sees. */
  open(reason: ProviderAbortedError): ProviderAbortedError {
    this.openedWith ??= reason;
    return this.openedWith;
  }
}
