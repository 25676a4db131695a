/**
 * GCRA (the generic cell rate algorithm), on integer microseconds so that every step is exact.
 *
 * A key's whole state is one number, its theoretical arrival time (TAT). A policy of `limit`
 * per `windowMs` admits a burst of up to `limit` at once, then one more every `windowMs / limit`.
 * There is no window edge: at any moment, at most `limit` requests are admitted within any
 * span shorter than one emission interval, and `limit + n` within a span of `n` intervals.
 *
 * The same steps run in `MemoryStore` (here) and in Redis (`gcra-script.ts`); keep them in step.
 */

export interface Policy {
  limit: number;
  windowMs: number;
}

export interface ConsumeResult {
  allowed: boolean;
  limit: number;
  /** Requests (of cost 1) that would still be admitted right now. */
  remaining: number;
  /** Milliseconds until the full `limit` is available again. */
  resetMs: number;
  /** Milliseconds until this request would have been admitted; 0 when admitted. */
  retryAfterMs: number;
}

/** The emission interval in whole microseconds (at least 1), so all later arithmetic is on integers. */
export function intervalUs(policy: Policy): number {
  return Math.max(1, Math.round((policy.windowMs * 1000) / policy.limit));
}

export interface GcraStep {
  allowed: boolean;
  /** The TAT to store when admitted (µs). */
  tat: number;
  remaining: number;
  resetUs: number;
  retryAfterUs: number;
}

/**
 * One decision. `storedTat` is the key's TAT (undefined when none), `now` the store's clock, both in µs.
 *
 * @example gcraStep(undefined, 0, 600_000, 100, 1) // { allowed: true, tat: 600000, remaining: 99, ... }
 */
export function gcraStep(
  storedTat: number | undefined,
  now: number,
  interval: number,
  limit: number,
  cost: number,
): GcraStep {
  const burst = interval * limit;
  const base = storedTat === undefined || storedTat < now ? now : storedTat;
  const tat = base + interval * cost;
  if (tat - now > burst) {
    return {
      allowed: false,
      tat: base,
      remaining: Math.max(0, Math.floor((burst - (base - now)) / interval)),
      resetUs: base - now,
      retryAfterUs: tat - burst - now,
    };
  }
  return {
    allowed: true,
    tat,
    remaining: Math.floor((burst - (tat - now)) / interval),
    resetUs: tat - now,
    retryAfterUs: 0,
  };
}

/** Microseconds to whole milliseconds, rounding up (a client told "retry in 0 ms" would be early). */
export function usToMs(us: number): number {
  return Math.ceil(us / 1000);
}
