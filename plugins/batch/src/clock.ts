/**
 * Where the controllers read the time. Injected so tests can move time by
 * hand instead of waiting for real seconds and minutes.
 */
export interface Clock {
  /** Milliseconds since the epoch, like `Date.now()`. */
  now(): number;
}

/** The real time. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to; for tests. */
export class FakeClock implements Clock {
  private ms: number;

  constructor(start: number | string | Date = '2024-01-01T00:00:00Z') {
    this.ms = new Date(start).getTime();
  }

  now(): number {
    return this.ms;
  }

  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.ms += ms;
  }

  /** Sets the clock to `to`. */
  set(to: number | string | Date): void {
    this.ms = new Date(to).getTime();
  }
}
