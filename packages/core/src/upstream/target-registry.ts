import type { ServiceConfig } from '../config/schema.js';
import type { Target } from '../types.js';
import type { Admission } from './admission.js';
import { TargetState } from './target-state.js';

/**
 * What is known about one service's targets, shared by every runtime built with the same service
 * settings: breaker, ejection, check results, latency history and requests in flight live here,
 * not in one runtime's pool, so a reload that changes nothing forgets nothing, and an old and a
 * new runtime that overlap count one `maxConnections` per target.
 */
export class ServiceTargets {
  readonly #states = new Map<string, { state: TargetState; holders: number }>();
  /** The service's one admission gate (set by the first runtime that needs it). */
  admission: Admission | undefined;

  constructor(readonly settings: string) {}

  /** The state of a target a pool takes in; `fresh` when nothing was known of it. */
  acquire(target: Target): { state: TargetState; fresh: boolean } {
    const known = this.#states.get(target.id);
    if (known) {
      known.holders++;
      known.state.target = target;
      return { state: known.state, fresh: false };
    }
    const state = new TargetState(target);
    this.#states.set(target.id, { state, holders: 1 });
    return { state, fresh: true };
  }

  /** A pool let go of a target; once no pool holds it, what was known of it is dropped. */
  release(id: string): void {
    const known = this.#states.get(id);
    if (known && --known.holders === 0) this.#states.delete(id);
  }

  /** Targets in rotation now (what `maxConnections` multiplies). */
  inRotation(now: number): number {
    let n = 0;
    for (const { state } of this.#states.values()) if (state.available(now)) n++;
    return n;
  }

  /** How many targets are held (for tests and diagnostics). */
  get size(): number {
    return this.#states.size;
  }
}

/**
 * The gateway's per-service target knowledge, across reloads. A runtime asks for a service's
 * share while it is built; the registry keeps the shares of the runtime that went live.
 *
 * @example
 * const share = registry.share('api', config.services.api); // same settings: the live runtime's share
 * registry.commit(new Map([['api', share]]));               // once the new runtime is live
 */
export class TargetRegistry {
  #live = new Map<string, ServiceTargets>();

  /** The live share when the service's settings (all but its target list) did not change, else a new one. */
  share(name: string, service: ServiceConfig): ServiceTargets {
    const settings = settingsKey(service);
    const live = this.#live.get(name);
    return live?.settings === settings ? live : new ServiceTargets(settings);
  }

  /** The shares of the runtime that went live; others stay with the runtimes that hold them. */
  commit(shares: ReadonlyMap<string, ServiceTargets>): void {
    this.#live = new Map(shares);
  }
}

/** Everything of a service's config but its target list: a change there starts its targets fresh. */
function settingsKey(service: ServiceConfig): string {
  const { targets: _, ...settings } = service as ServiceConfig & { targets?: unknown };
  return JSON.stringify(settings);
}
