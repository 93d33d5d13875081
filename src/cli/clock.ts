/** The clock and random source of the failure lifecycle; tests drive both. */
export interface Clock {
  now: () => Date;
  random?: () => number;
}

export const systemClock: Clock = { now: () => new Date() };
