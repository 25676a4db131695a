import type { Logger } from 'pino';
import type { TargetState } from './target-state.js';

/** The longest a breaker stays open between probes, however often it re-opened. */
const BREAKER_MAX_MS = 300_000;

export interface BreakerConfig {
  /** Consecutive connect failures or timeouts that open it. */
  failures: number;
  /** How long it stays open before one probe may go through (doubling on each re-open). */
  cooldown: number;
}

/**
 * A circuit breaker per target: closed lets everything through; open refuses until the cooldown
 * ends; half-open lets one probe through, whose outcome closes or re-opens it.
 */
export class CircuitBreaker {
  constructor(
    private readonly config: BreakerConfig,
    private readonly service: string,
    private readonly logger: Logger,
    /** Called when a target's availability may have changed. */
    private readonly publish: (s: TargetState, now: number) => void,
    /** Called each time the breaker opens (for the metrics). */
    private readonly opened: (s: TargetState) => void = () => {},
  ) {}

  /** Closed: yes. Open: no until the cooldown ends, then half-open. Half-open: one probe at a time. */
  allows(s: TargetState, now: number): boolean {
    if (s.breaker === 'closed') return true;
    if (s.breaker === 'open') {
      if (now < s.breakerOpenUntil) return false;
      s.breaker = 'half-open';
      s.probeInFlight = false;
    }
    return !s.probeInFlight;
  }

  /** The target answered. */
  success(s: TargetState, now: number): void {
    s.breakerFailures = 0;
    if (s.breaker === 'closed') return;
    this.close(s);
    this.logger.info({ service: this.service, target: s.target.id }, 'circuit closed');
    this.publish(s, now);
  }

  /** The target could not be reached, or did not answer in time. */
  failure(s: TargetState, now: number): void {
    s.breakerFailures++;
    const trip =
      s.breaker === 'half-open' || (s.breaker === 'closed' && s.breakerFailures >= this.config.failures);
    if (!trip) return;
    const { cooldown } = this.config;
    s.breakerTrips++;
    // Each re-open without a success in between waits twice as long.
    const wait = Math.min(cooldown * 2 ** (s.breakerTrips - 1), Math.max(cooldown, BREAKER_MAX_MS));
    s.breaker = 'open';
    s.probeInFlight = false;
    s.breakerOpenUntil = now + wait;
    this.logger.warn({ service: this.service, target: s.target.id, openMs: wait }, 'circuit opened');
    this.opened(s);
    this.publish(s, now);
  }

  /** Back to closed, with its history forgotten (a target that came back to life). */
  close(s: TargetState): void {
    s.breaker = 'closed';
    s.breakerFailures = 0;
    s.breakerTrips = 0;
    s.probeInFlight = false;
  }
}
