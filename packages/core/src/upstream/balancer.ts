import type { TargetState } from './target-state.js';

/** Chooses one of the available targets. `candidates` is never empty. */
export type Balancer = (candidates: readonly TargetState[]) => TargetState;

/**
 * Least outstanding requests by "power of two choices": pick two at random, take the less busy
 * (weights scale the load). Near-optimal spread without scanning every target.
 */
export function leastRequest(): Balancer {
  return function leastRequest(candidates) {
    const n = candidates.length;
    if (n === 1) return candidates[0]!;
    const a = candidates[(Math.random() * n) | 0]!;
    let b = candidates[(Math.random() * (n - 1)) | 0]!;
    if (b === a) b = candidates[n - 1]!;
    return a.inFlight / a.target.weight <= b.inFlight / b.target.weight ? a : b;
  };
}

/** Smooth weighted round robin (as in nginx): even interleaving, weights respected. */
export function roundRobin(): Balancer {
  return function roundRobin(candidates) {
    let total = 0;
    let best: TargetState | undefined;
    for (const c of candidates) {
      c.currentWeight += c.target.weight;
      total += c.target.weight;
      if (best === undefined || c.currentWeight > best.currentWeight) best = c;
    }
    best!.currentWeight -= total;
    return best!;
  };
}
