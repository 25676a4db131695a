import type { Target } from '@lucid/gateway-core';

/** Targets discovery removed are remembered this long (and at most this many per service). */
const KEEP_MS = 600_000;
const KEEP = 20;

/** A target discovery took out of a service's pool, and when (epoch ms). */
export interface RemovedTarget {
  id: string;
  at: number;
}

/**
 * The targets discovery removed lately, per service: an observer of the pools' events, so the
 * page can show what left and when. A target that is back in its pool is not shown as removed.
 *
 * @example
 * const removed = new RemovedTargets();
 * view.observe({ targetsRemoved: (service, targets, at) => removed.add(service, targets, at) });
 */
export class RemovedTargets {
  readonly #byService = new Map<string, RemovedTarget[]>();

  constructor(private readonly now: () => number = Date.now) {}

  add(service: string, targets: readonly Target[], at: number): void {
    const ids = new Set(targets.map((t) => t.id));
    const kept = (this.#byService.get(service) ?? []).filter((r) => !ids.has(r.id));
    this.#byService.set(service, [...targets.map((t) => ({ id: t.id, at })), ...kept].slice(0, KEEP));
  }

  /** A service's targets removed in the last minutes, newest first, less those `present` again. */
  of(service: string, present: ReadonlySet<string>): RemovedTarget[] {
    const since = this.now() - KEEP_MS;
    return (this.#byService.get(service) ?? []).filter((r) => r.at >= since && !present.has(r.id));
  }
}
