import type { Target } from '../types.js';

/** What the pool knows about one target: load, health, breaker. */
export class TargetState {
  inFlight = 0;
  currentWeight = 0;
  /** From active health checks; a target starts healthy so traffic flows before the first check. */
  healthy = true;
  consecutiveCheckFailures = 0;
  consecutiveCheckSuccesses = 0;
  /** Passive outlier detection: consecutive failed requests, and how often it was ejected. */
  consecutiveFailures = 0;
  ejections = 0;
  ejectedUntil = 0;
  /** Circuit breaker: 'half-open' lets one probe request through. */
  breaker: 'closed' | 'open' | 'half-open' = 'closed';
  breakerOpenedAt = 0;
  probeInFlight = false;

  constructor(readonly target: Target) {}
}
