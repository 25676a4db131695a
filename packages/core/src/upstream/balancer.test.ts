import { describe, expect, it } from 'vitest';
import { leastRequest, roundRobin } from './balancer.js';
import { targetFromUrl } from './pool.js';
import { TargetState } from './target-state.js';

function states(...weights: number[]): TargetState[] {
  return weights.map((w, i) => new TargetState(targetFromUrl(`http://10.0.0.${i + 1}:8080`, w)));
}

/** A deterministic random source (a 32-bit LCG), so spreads are the same on every run. */
function seeded(seed = 42): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1_664_525) + 1_013_904_223) >>> 0;
    return x / 2 ** 32;
  };
}

const names = (picked: TargetState[], all: TargetState[]) =>
  picked.map((s) => 'abcdefgh'[all.indexOf(s)]).join('');

describe('roundRobin', () => {
  it('interleaves weights smoothly (5,1,1 gives a a b a c a a)', () => {
    const all = states(5, 1, 1);
    const pick = roundRobin();
    expect(
      names(
        Array.from({ length: 14 }, () => pick(all)),
        all,
      ),
    ).toBe('aabacaaaabacaa');
  });

  it('takes equal turns when weights are equal', () => {
    const all = states(1, 1, 1);
    const pick = roundRobin();
    expect(
      names(
        Array.from({ length: 6 }, () => pick(all)),
        all,
      ),
    ).toBe('abcabc');
  });

  it('keeps going over whichever candidates are offered', () => {
    const all = states(1, 1, 1);
    const pick = roundRobin();
    const withoutB = [all[0]!, all[2]!];
    expect(
      names(
        Array.from({ length: 4 }, () => pick(withoutB)),
        all,
      ),
    ).toBe('acac');
  });
});

describe('leastRequest (power of two choices)', () => {
  it('returns the only candidate', () => {
    const [a] = states(1);
    expect(leastRequest()([a!])).toBe(a);
  });

  it('with two candidates always takes the less busy one', () => {
    const all = states(1, 1);
    all[0]!.inFlight = 3;
    all[1]!.inFlight = 2;
    const pick = leastRequest(seeded());
    for (let i = 0; i < 50; i++) expect(pick(all)).toBe(all[1]);
  });

  it('never draws the same target twice for its two choices', () => {
    const all = states(1, 1, 1);
    // a is the busiest: p2c may only pick it when both draws were a, which must never happen.
    all[0]!.inFlight = 10;
    const pick = leastRequest(seeded(7));
    for (let i = 0; i < 500; i++) expect(pick(all)).not.toBe(all[0]);
  });

  it('scales load by weight (4 in flight on weight 4 is as busy as 1 on weight 1)', () => {
    const all = states(4, 1);
    all[0]!.inFlight = 3;
    all[1]!.inFlight = 1;
    const pick = leastRequest(seeded());
    for (let i = 0; i < 20; i++) expect(pick(all)).toBe(all[0]);
  });

  it('spreads an idle pool in proportion to the weights', () => {
    const all = states(3, 1);
    const pick = leastRequest(seeded(3));
    const counts = [0, 0];
    for (let i = 0; i < 4_000; i++) counts[all.indexOf(pick(all))]!++;
    expect(counts[0]! / 4_000).toBeGreaterThan(0.7);
    expect(counts[0]! / 4_000).toBeLessThan(0.8);
  });

  it('spreads equal load evenly when requests overlap', () => {
    const all = states(1, 1, 1, 1);
    const pick = leastRequest(seeded(11));
    const counts = [0, 0, 0, 0];
    const open: TargetState[] = [];
    for (let i = 0; i < 4_000; i++) {
      const s = pick(all);
      s.inFlight++;
      open.push(s);
      counts[all.indexOf(s)]!++;
      if (open.length > 8) open.shift()!.inFlight--;
    }
    for (const c of counts) expect(Math.abs(c - 1_000)).toBeLessThan(100);
  });
});
