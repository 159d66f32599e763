/**
 * Injectable clock. Every time-dependent rule takes a Clock so tests can freeze time
 * instead of sleeping (the panva/jose `currentDate` pattern).
 */
export interface Clock {
  /** Current time in milliseconds since the Unix epoch. */
  nowMs(): number;
}

/** The real wall clock. */
export const systemClock: Clock = { nowMs: () => Date.now() };

/** A clock frozen at `ms` (epoch milliseconds); `advance` moves it forward. */
export interface FrozenClock extends Clock {
  /** Moves the clock by `ms` milliseconds (may be negative). */
  advance(ms: number): void;
  /** Sets the clock to `ms` epoch milliseconds. */
  set(ms: number): void;
}

/** Creates a {@link FrozenClock} at `ms` epoch milliseconds. */
export function frozenClock(ms: number): FrozenClock {
  let now = ms;
  return {
    nowMs: () => now,
    advance: (d) => {
      now += d;
    },
    set: (t) => {
      now = t;
    },
  };
}

/** Current time in whole seconds (JWT NumericDate, RFC 7519 §2). */
export function nowSeconds(clock: Clock): number {
  return Math.floor(clock.nowMs() / 1000);
}
