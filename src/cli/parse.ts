/** Option parsers shared by the commands; they throw commander's InvalidArgumentError. */
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../config/duration.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive whole number, got "${value}"`);
  return n;
}

/** A whole number from 1 to `max`; the message says the bound (e.g. --workers caps at what the config allows). */
export function positiveIntUpTo(max: number): (value: string) => number {
  return (value) => {
    const n = positiveInt(value);
    if (n > max) throw new InvalidArgumentError(`expected a whole number from 1 to ${max}, got "${value}"`);
    return n;
  };
}

/** "2m", "30s", "500ms", or seconds; more than zero. Returns milliseconds. */
export function durationOption(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  if (ms <= 0) throw new InvalidArgumentError(`expected a duration longer than 0, got "${value}"`);
  return ms;
}
