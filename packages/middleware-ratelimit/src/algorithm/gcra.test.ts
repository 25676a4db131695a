import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gcraStep, intervalUs } from './gcra.js';

/** Runs requests at the given times (µs) through one key and returns which were admitted. */
function run(times: number[], limit: number, windowMs: number): boolean[] {
  const interval = intervalUs({ limit, windowMs });
  let tat: number | undefined;
  return times.map((now) => {
    const step = gcraStep(tat, now, interval, limit, 1);
    if (step.allowed) tat = step.tat;
    return step.allowed;
  });
}

describe('gcraStep', () => {
  it('admits exactly `limit` at one instant, then one per interval', () => {
    const admitted = run(Array(150).fill(0), 100, 60_000);
    expect(admitted.filter(Boolean)).toHaveLength(100);
    expect(admitted.slice(0, 100).every(Boolean)).toBe(true);
    // One interval (600 ms) later exactly one more fits.
    expect(run([...Array(100).fill(0), 599_999, 600_000, 600_000], 100, 60_000).slice(100)).toEqual([
      false,
      true,
      false,
    ]);
  });

  it('reports remaining, reset and retry-after', () => {
    const interval = intervalUs({ limit: 10, windowMs: 1_000 });
    const first = gcraStep(undefined, 0, interval, 10, 1);
    expect(first).toMatchObject({ allowed: true, remaining: 9, resetUs: 100_000, retryAfterUs: 0 });
    let tat = first.tat;
    for (let i = 0; i < 9; i++) tat = gcraStep(tat, 0, interval, 10, 1).tat;
    const denied = gcraStep(tat, 0, interval, 10, 1);
    expect(denied).toMatchObject({ allowed: false, remaining: 0, resetUs: 1_000_000, retryAfterUs: 100_000 });
    const later = gcraStep(tat, 250_000, interval, 10, 1);
    expect(later).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('spends `cost` units at once and never admits a cost above the limit', () => {
    const interval = intervalUs({ limit: 10, windowMs: 1_000 });
    const big = gcraStep(undefined, 0, interval, 10, 7);
    expect(big).toMatchObject({ allowed: true, remaining: 3 });
    expect(gcraStep(big.tat, 0, interval, 10, 4).allowed).toBe(false);
    expect(gcraStep(undefined, 0, interval, 10, 11).allowed).toBe(false);
  });

  it('has no window edge: a span of n intervals never admits more than limit + n', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 100, max: 10_000 }),
        fc.array(fc.integer({ min: 0, max: 30_000_000 }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 0, max: 30_000_000 }),
        fc.integer({ min: 0, max: 30_000_000 }),
        (limit, windowMs, raw, from, span) => {
          const times = raw.sort((a, b) => a - b);
          const admitted = run(times, limit, windowMs);
          const interval = intervalUs({ limit, windowMs });
          const inSpan = times.filter((t, i) => admitted[i] && t >= from && t < from + span).length;
          expect(inSpan).toBeLessThanOrEqual(limit + Math.ceil(span / interval));
        },
      ),
    );
  });

  it('keeps the long-run rate: over many windows at most limit per window plus one burst', () => {
    // 1000 requests/s for 10 s against 5/s: 5 at the start, then one per 200 ms.
    const times = Array.from({ length: 10_000 }, (_, i) => i * 1_000);
    const admitted = run(times, 5, 1_000).filter(Boolean).length;
    expect(admitted).toBe(5 + 49);
  });
});
