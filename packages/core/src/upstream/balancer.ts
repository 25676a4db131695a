import type { TargetState } from './target-state.js';

/** Chooses one of the available targets. `candidates` is never empty. */
export type Balancer = (candidates: readonly TargetState[]) => TargetState;

/**
 * Least outstanding requests by "power of two choices": draw two targets at random (in proportion
 * to their weights) and take the one with fewer requests in flight per unit of weight. Near-optimal
 * spread without scanning for the minimum; with no load at all it is a weighted random choice.
 *
 * @example
 * const pick = leastRequest();
 * const state = pick(candidates);
 */
export function leastRequest(random: () => number = Math.random): Balancer {
  return function leastRequest(candidates) {
    const n = candidates.length;
    if (n === 1) return candidates[0]!;
    let total = 0;
    for (const c of candidates) total += c.target.weight;
    const a = draw(candidates, total, undefined, random);
    const b = draw(candidates, total - a.target.weight, a, random);
    // Ties go to the first draw, which is itself weighted: an idle pool spreads by weight.
    return a.inFlight * b.target.weight <= b.inFlight * a.target.weight ? a : b;
  };
}

/** A weighted random candidate other than `skip`; `total` is the weight of the rest. */
function draw(
  candidates: readonly TargetState[],
  total: number,
  skip: TargetState | undefined,
  random: () => number,
) {
  let r = random() * total;
  let last = candidates[0]!;
  for (const c of candidates) {
    if (c === skip) continue;
    last = c;
    r -= c.target.weight;
    if (r < 0) return c;
  }
  return last;
}

/**
 * Smooth weighted round robin (as in nginx): weights respected and interleaved evenly
 * (weights 5,1,1 give a a b a c a a, not a a a a a b c).
 *
 * @example
 * const pick = roundRobin();
 * const state = pick(candidates);
 */
export function roundRobin(): Balancer {
  return function roundRobin(candidates) {
    let total = 0;
    let best = candidates[0]!;
    for (const c of candidates) {
      c.currentWeight += c.target.weight;
      total += c.target.weight;
      if (c.currentWeight > best.currentWeight) best = c;
    }
    best.currentWeight -= total;
    return best;
  };
}
