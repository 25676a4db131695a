import { RequestWindow } from '../observability/request-window.js';
import type { Target } from '../types.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** The last active check of a target: when (epoch ms), whether it passed, how long it took. */
export interface CheckResult {
  at: number;
  ok: boolean;
  latencyMs: number;
}

/**
 * What the pool knows about one target: load, health, ejection, breaker. The object lives as long
 * as the target stays in the pool (discovery updates change `target` in place), so requests in
 * flight always release the state they picked.
 */
export class TargetState {
  /** Requests picked and not yet released (least-request balancing). */
  inFlight = 0;
  /** Smooth weighted round robin's running weight. */
  currentWeight = 0;
  /** From active health checks; a target starts healthy so traffic flows before the first check. */
  healthy = true;
  /** Whether an active check has answered yet (until then /health says unknown). */
  checked = false;
  checkFailures = 0;
  checkSuccesses = 0;
  /** Passive outlier detection: consecutive 5xx / gateway failures, and the current ejection. */
  consecutiveErrors = 0;
  ejections = 0;
  ejectedUntil = 0;
  /** Circuit breaker: consecutive connect failures / timeouts; 'half-open' lets one probe through. */
  breaker: BreakerState = 'closed';
  breakerFailures = 0;
  breakerTrips = 0;
  breakerOpenUntil = 0;
  probeInFlight = false;
  /** The last value written to the health gauge, so it is only written on change. */
  published: boolean | undefined = undefined;
  /** When (epoch ms) the target last went in or out of rotation, or joined the pool. */
  changedAt = 0;
  lastCheck: CheckResult | undefined = undefined;
  /** Requests, errors and latency of the last minutes (the dashboard's per-target view). */
  readonly window = new RequestWindow();

  constructor(public target: Target) {}

  /** In rotation: passes its checks, not ejected, breaker closed. */
  available(now: number): boolean {
    return this.healthy && this.ejectedUntil <= now && this.breaker === 'closed';
  }
}
