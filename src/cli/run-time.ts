/**
 * The clock and random source of a run's failure lifecycle (job schedules,
 * requeue backoff); tests drive both. Kept apart from item-processor.ts so a
 * command can name it without loading the pipeline.
 */
import { systemClock, type Clock } from '../resilience/clock.js';

export interface RunTime {
  clock: Clock;
  random?: () => number;
}

export const systemTime: RunTime = { clock: systemClock };
