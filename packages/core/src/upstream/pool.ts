import type { Logger } from 'pino';
import { request } from 'undici';
import type { ServiceConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { Target } from '../types.js';
import { type Balancer, leastRequest, roundRobin } from './balancer.js';
import { TargetState } from './target-state.js';

/** Consecutive 5xx answers that eject a target (passive outlier detection). */
const OUTLIER_5XX = 5;
const EJECT_BASE_MS = 10_000;
const EJECT_MAX_MS = 300_000;
const RETRY_WINDOW_MS = 10_000;
/** Retries allowed per window even when traffic is light. */
const RETRY_FLOOR = 3;

/** How a request to a target ended; 'aborted' (the client left) says nothing about the target. */
export type RequestOutcome = 'ok' | 'http-5xx' | 'unavailable' | 'timeout' | 'error' | 'aborted';

export function targetFromUrl(url: string, weight = 1, meta?: Record<string, string>): Target {
  const u = new URL(url);
  return { id: u.origin, url: new URL(u.origin), weight, ...(meta && { meta }) };
}

/**
 * The targets of one service and what is known about them. Balancing, active health checks,
 * passive outlier ejection, a circuit breaker per target and a retry budget all live here.
 */
export class UpstreamPool {
  #states: TargetState[] = [];
  readonly #balancer: Balancer;
  #timer: NodeJS.Timeout | undefined;
  #windowStart = Date.now();
  #requests = 0;
  #retries = 0;

  constructor(
    readonly name: string,
    readonly service: ServiceConfig,
    private readonly deps: { logger: Logger; metrics: GatewayMetrics },
  ) {
    this.#balancer = service.balancer === 'round-robin' ? roundRobin() : leastRequest();
    if (service.discovery === 'static')
      this.setTargets(service.targets.map((t) => targetFromUrl(t.url, t.weight)));
  }

  /** Swaps the target list in one step; known targets keep their state. */
  setTargets(targets: readonly Target[]): void {
    const previous = new Map(this.#states.map((s) => [s.target.id, s]));
    this.#states = targets.map((t) => {
      const known = previous.get(t.id);
      if (known && known.target.weight === t.weight) return known;
      const state = new TargetState(t);
      if (known) Object.assign(state, { healthy: known.healthy, inFlight: known.inFlight });
      return state;
    });
  }

  targets(): Target[] {
    return this.#states.map((s) => s.target);
  }

  /**
   * Chooses a target, skipping `exclude` when another is available. Throws a 503 at once when
   * every target's breaker is open: a fast answer instead of waiting on dead targets.
   */
  pick(exclude?: TargetState): TargetState {
    const now = Date.now();
    const states = this.#states;
    if (states.length === 0) {
      throw new GatewayError('GW_UPSTREAM_UNAVAILABLE', { detail: `service "${this.name}" has no targets` });
    }
    let candidates: TargetState[] = [];
    for (const s of states)
      if (s !== exclude && s.healthy && s.ejectedUntil <= now && this.#breakerAllows(s, now))
        candidates.push(s);
    if (candidates.length === 0 && exclude) {
      if (exclude.healthy && exclude.ejectedUntil <= now && this.#breakerAllows(exclude, now))
        candidates.push(exclude);
    }
    if (candidates.length === 0) {
      // Panic mode: all unhealthy or ejected. Better to try than to refuse, unless breakers say no.
      candidates = states.filter((s) => this.#breakerAllows(s, now));
    }
    if (candidates.length === 0) {
      throw new GatewayError('GW_UPSTREAM_UNAVAILABLE', {
        detail: `service "${this.name}" is unavailable`,
        headers: { 'retry-after': String(Math.ceil(this.service.breaker.cooldown / 1000)) },
      });
    }
    const chosen = candidates.length === 1 ? candidates[0]! : this.#balancer(candidates);
    if (chosen.breaker === 'half-open') chosen.probeInFlight = true;
    chosen.inFlight++;
    this.#countRequest(now);
    return chosen;
  }

  /** Reports how a request to a picked target ended. */
  release(state: TargetState, outcome: RequestOutcome): void {
    state.inFlight--;
    const now = Date.now();
    if (state.breaker === 'half-open') state.probeInFlight = false;
    if (outcome === 'aborted') return;
    if (outcome === 'ok') {
      state.consecutiveFailures = 0;
      if (state.breaker !== 'closed') {
        state.breaker = 'closed';
        state.ejections = 0;
        this.deps.logger.info({ service: this.name, target: state.target.id }, 'circuit closed');
      }
      return;
    }
    state.consecutiveFailures++;
    if (outcome === 'http-5xx') {
      if (state.consecutiveFailures >= OUTLIER_5XX && this.#canEject(state, now)) this.#eject(state, now);
      return;
    }
    // connect failures, timeouts, resets: the breaker's business
    if (state.breaker === 'half-open' || state.consecutiveFailures >= this.service.breaker.failures) {
      if (state.breaker !== 'open')
        this.deps.logger.warn({ service: this.name, target: state.target.id }, 'circuit opened');
      state.breaker = 'open';
      state.breakerOpenedAt = now;
      state.ejections++;
    }
  }

  /** Whether one more retry fits the budget (a share of recent requests), so retries cannot multiply an outage. */
  tryRetry(): boolean {
    this.#roll(Date.now());
    const allowed = Math.max(RETRY_FLOOR, this.service.retry.budget * this.#requests);
    if (this.#retries >= allowed) return false;
    this.#retries++;
    return true;
  }

  /** A service is up when at least one target is healthy and not cut off by its breaker. */
  healthy(): boolean {
    const now = Date.now();
    return this.#states.some(
      (s) => s.healthy && (s.breaker !== 'open' || now - s.breakerOpenedAt >= this.#cooldown(s)),
    );
  }

  snapshot(): Array<{
    target: string;
    healthy: boolean;
    breaker: string;
    inFlight: number;
    ejected: boolean;
  }> {
    const now = Date.now();
    return this.#states.map((s) => ({
      target: s.target.id,
      healthy: s.healthy,
      breaker: s.breaker,
      inFlight: s.inFlight,
      ejected: s.ejectedUntil > now,
    }));
  }

  /** Starts the background health checks (when the service has a health path). */
  start(): void {
    const check = this.service.health;
    if (!check || this.#timer) return;
    const run = () => void this.checkNow();
    run();
    this.#timer = setInterval(run, check.interval);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Runs one round of active checks on every target. */
  async checkNow(): Promise<void> {
    const check = this.service.health;
    if (!check) return;
    await Promise.all(
      this.#states.map(async (s) => {
        const ok = await probe(new URL(check.path, s.target.url), check.timeout);
        if (ok) {
          s.consecutiveCheckFailures = 0;
          s.consecutiveCheckSuccesses++;
          if (!s.healthy && s.consecutiveCheckSuccesses >= check.healthyThreshold) {
            s.healthy = true;
            s.breaker = 'closed';
            s.consecutiveFailures = 0;
            s.ejectedUntil = 0;
            this.deps.logger.info({ service: this.name, target: s.target.id }, 'target healthy');
          }
        } else {
          s.consecutiveCheckSuccesses = 0;
          s.consecutiveCheckFailures++;
          if (s.healthy && s.consecutiveCheckFailures >= check.unhealthyThreshold) {
            s.healthy = false;
            this.deps.logger.warn({ service: this.name, target: s.target.id }, 'target unhealthy');
          }
        }
        this.deps.metrics.targetHealth(this.name, s.target.id, s.healthy);
      }),
    );
  }

  #breakerAllows(s: TargetState, now: number): boolean {
    if (s.breaker === 'closed') return true;
    if (s.breaker === 'open') {
      if (now - s.breakerOpenedAt < this.#cooldown(s)) return false;
      s.breaker = 'half-open';
      s.probeInFlight = false;
    }
    return !s.probeInFlight;
  }

  /** The breaker stays open longer each time it re-opens without a success in between. */
  #cooldown(s: TargetState): number {
    return Math.min(this.service.breaker.cooldown * 2 ** Math.max(0, s.ejections - 1), EJECT_MAX_MS);
  }

  #canEject(state: TargetState, now: number): boolean {
    // Never eject the last target that can take traffic.
    return this.#states.some(
      (s) => s !== state && s.healthy && s.ejectedUntil <= now && s.breaker !== 'open',
    );
  }

  #eject(state: TargetState, now: number): void {
    state.ejections++;
    state.ejectedUntil = now + Math.min(EJECT_BASE_MS * 2 ** (state.ejections - 1), EJECT_MAX_MS);
    state.consecutiveFailures = 0;
    this.deps.logger.warn(
      { service: this.name, target: state.target.id, until: state.ejectedUntil },
      'target ejected',
    );
  }

  #countRequest(now: number): void {
    this.#roll(now);
    this.#requests++;
  }

  #roll(now: number): void {
    if (now - this.#windowStart > RETRY_WINDOW_MS) {
      this.#windowStart = now;
      this.#requests = 0;
      this.#retries = 0;
    }
  }
}

async function probe(url: URL, timeout: number): Promise<boolean> {
  try {
    const res = await request(url, {
      method: 'GET',
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: AbortSignal.timeout(timeout),
    });
    await res.body.dump();
    return res.statusCode >= 200 && res.statusCode < 400;
  } catch {
    return false;
  }
}
