import type { Logger } from 'pino';
import type { ServiceConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { Target, TlsProvider } from '../types.js';
import { ActiveChecks, resolveHealthCheck } from './active-checks.js';
import { type Balancer, leastRequest, roundRobin } from './balancer.js';
import { CircuitBreaker } from './breaker.js';
import { type Probe, tcpProbe } from './health-probe.js';
import { OutlierEjection } from './outlier.js';
import { probeFor } from './probes.js';
import { transportUrl } from './protocol.js';
import { RetryBudget } from './retry-budget.js';
import { ServiceTargets } from './target-registry.js';
import type { TargetState } from './target-state.js';

/**
 * How a request to a target ended. `http-5xx`: the target answered with a server error;
 * `unavailable`: it could not be reached (refused, unreachable, connect timeout); `timeout`: no
 * answer in time; `error`: the connection broke (reset, protocol error); `aborted`: the client left,
 * which says nothing about the target.
 */
export type RequestOutcome = 'ok' | 'http-5xx' | 'unavailable' | 'timeout' | 'error' | 'aborted';

export interface PoolDeps {
  logger: Logger;
  metrics: GatewayMetrics;
  /** The clock (ms); tests pass their own. */
  now?: () => number;
  /** The active health probe; by default an HTTP GET with the service's TLS settings (TCP without a path). */
  probe?: Probe;
  /** The top-level `health` section: interval and timeout for checks that set none. */
  healthDefaults?: { interval: number; timeout: number };
  /** Where the targets' states live (shared across reloads); by default this pool's own. */
  targets?: ServiceTargets;
  /**
   * TLS a plugin provides for this service (a mesh's mTLS): health probes use it as proxying does,
   * and the service's own `tls` files only without it.
   */
  tls?: TlsProvider | undefined;
  /** Told when discovery takes targets out of the pool (the dashboard keeps their history). */
  onTargetsRemoved?(service: string, targets: readonly Target[], at: number): void;
}

/** What /health says of a service: a measured up or down, or unknown before any check answered. */
export type ServiceStatus = boolean | 'unknown';

export interface TargetHealth {
  target: string;
  /** In rotation: passes its health checks, not ejected, breaker closed. */
  available: boolean;
  healthy: boolean;
  ejected: boolean;
  breaker: TargetState['breaker'];
  inFlight: number;
}

/**
 * Builds a target from a URL; its id is the URL's origin, stable across discovery updates (an
 * h2c:// target keeps its scheme in the id, and is reached at http://host:port).
 *
 * @example targetFromUrl('http://10.0.0.5:8080', 2) // { id: 'http://10.0.0.5:8080', weight: 2, ... }
 */
export function targetFromUrl(url: string, weight = 1, meta?: Record<string, string>): Target {
  const u = transportUrl(url);
  const id = url.startsWith('h2c:') ? `h2c://${u.host}` : u.origin;
  return { id, url: new URL(u.origin), weight, ...(meta && { meta }) };
}

/**
 * The targets of one service and what is known about them. It picks (balancer.ts) among targets in
 * rotation, and hands each outcome to the circuit breaker (breaker.ts), outlier ejection
 * (outlier.ts) and the retry budget (retry-budget.ts); active checks (active-checks.ts) run beside.
 *
 * @example
 * const pool = new UpstreamPool('auth', service, { logger, metrics });
 * const state = pool.pick();
 * try { ...; pool.release(state, 'ok'); } catch { pool.release(state, 'unavailable'); }
 */
export class UpstreamPool {
  #states: TargetState[] = [];
  readonly #balancer: Balancer;
  readonly #budget: RetryBudget;
  readonly #now: () => number;
  readonly #breaker: CircuitBreaker;
  readonly #outliers: OutlierEjection;
  readonly #checks: ActiveChecks;
  readonly #shared: ServiceTargets;
  #stopped = false;
  // Reused on every pick: the balancer runs synchronously, so one scratch array is enough.
  readonly #candidates: TargetState[] = [];

  constructor(
    readonly name: string,
    readonly service: ServiceConfig,
    private readonly deps: PoolDeps,
  ) {
    this.#now = deps.now ?? Date.now;
    this.#shared = deps.targets ?? new ServiceTargets('');
    this.#balancer = service.balancer === 'round-robin' ? roundRobin() : leastRequest();
    this.#budget = new RetryBudget(service.retry.budget, this.#now);
    const publish = (s: TargetState, now: number) => this.#publish(s, now);
    const event = (kind: 'breaker_opened' | 'ejected') => (s: TargetState) =>
      deps.metrics.targetEvent(name, s.target.id, kind);
    this.#breaker = new CircuitBreaker(service.breaker, name, deps.logger, publish, event('breaker_opened'));
    this.#outliers = new OutlierEjection(
      service.outlier,
      name,
      deps.logger,
      publish,
      this.#now,
      event('ejected'),
    );
    const check = resolveHealthCheck(
      service.health,
      deps.healthDefaults ?? { interval: 10_000, timeout: 2_000 },
    );
    const probe = deps.probe
      ? { probe: deps.probe, close: async () => {} }
      : probeFor(service, check, deps.tls);
    this.#checks = new ActiveChecks(check, {
      service: name,
      logger: deps.logger,
      probe: probe.probe,
      tcpProbe: deps.probe ?? tcpProbe,
      closeProbe: probe.close,
      states: () => this.#states,
      revive: (s) => this.#breaker.close(s),
      publish,
      now: this.#now,
    });
    if (service.discovery === 'static')
      this.setTargets(service.targets.map((t) => targetFromUrl(t.url, t.weight)));
  }

  /**
   * Swaps the target list in one assignment. Targets that stay keep their state (health, breaker,
   * requests in flight); their weight and metadata follow the new list.
   */
  setTargets(targets: readonly Target[]): void {
    // A stopped pool (a retired runtime's) takes no more targets: it holds no state any longer.
    if (this.#stopped) return;
    const previous = new Map(this.#states.map((s) => [s.target.id, s]));
    const next: TargetState[] = [];
    const seen = new Set<string>();
    for (const t of targets) {
      if (seen.has(t.id)) continue;
      seen.add(t.id);
      const known = previous.get(t.id);
      if (known) {
        known.target = t;
        next.push(known);
      } else {
        // Known from a runtime before this one (a reload): its breaker, checks and load carry on.
        const { state, fresh } = this.#shared.acquire(t);
        next.push(state);
        if (fresh) this.#publish(state, this.#now());
      }
    }
    const gone = this.#states.filter((s) => !seen.has(s.target.id));
    for (const s of gone) this.#shared.release(s.target.id);
    for (const s of gone) this.deps.metrics.targetRemoved(this.name, s.target.id);
    if (gone.length > 0)
      this.deps.onTargetsRemoved?.(
        this.name,
        gone.map((g) => g.target),
        this.#now(),
      );
    const removed = gone.length;
    const added = next.length - (this.#states.length - removed);
    this.#states = next;
    // New targets are checked now, not at the next tick: until then /health can only say unknown.
    if (added > 0 && this.#checks.running) void this.#checks.runOnce();
    if (added || removed)
      this.deps.logger.info({ service: this.name, targets: next.length, added, removed }, 'targets changed');
  }

  targets(): Target[] {
    return this.#states.map((s) => s.target);
  }

  /** The targets' live states, read-only (the dashboard describes them). */
  states(): readonly TargetState[] {
    return this.#states;
  }

  /**
   * Chooses a target for one attempt. Prefers targets in rotation that `tried` does not hold, then
   * tried ones, then (panic: all out of rotation) any whose breaker lets a request through. Throws
   * a 503 at once when every breaker is open: a fast answer instead of waiting on dead targets.
   */
  pick(tried?: readonly TargetState[]): TargetState {
    const now = this.#now();
    if (tried === undefined || tried.length === 0) this.#budget.request();
    const states = this.#states;
    const candidates = this.#candidates;
    candidates.length = 0;
    let bestRank = 8;
    const max = this.service.maxConnections ?? Number.POSITIVE_INFINITY;
    for (const s of states) {
      if (!this.#breaker.allows(s, now)) continue;
      // A target at its maxConnections is the last resort (admission keeps the total within the caps).
      const rank =
        (s.healthy && s.ejectedUntil <= now ? 0 : 2) +
        (tried?.includes(s) ? 1 : 0) +
        (s.inFlight >= max ? 4 : 0);
      if (rank > bestRank) continue;
      if (rank < bestRank) {
        bestRank = rank;
        candidates.length = 0;
      }
      candidates.push(s);
    }
    if (candidates.length === 0) throw this.#unavailable(now);
    const chosen = candidates.length === 1 ? candidates[0]! : this.#balancer(candidates);
    candidates.length = 0;
    if (chosen.breaker === 'half-open') chosen.probeInFlight = true;
    chosen.inFlight++;
    return chosen;
  }

  /** Reports how an attempt on a picked target ended. */
  release(state: TargetState, outcome: RequestOutcome): void {
    state.inFlight--;
    if (outcome === 'aborted') {
      if (state.breaker === 'half-open') state.probeInFlight = false;
      return;
    }
    const now = this.#now();
    if (outcome === 'ok') {
      state.consecutiveErrors = 0;
      this.#breaker.success(state, now);
      return;
    }
    if (outcome === 'http-5xx')
      this.#breaker.success(state, now); // it answered: alive, if unwell
    else if (outcome === 'unavailable' || outcome === 'timeout') this.#breaker.failure(state, now);
    else if (state.breaker === 'half-open') state.probeInFlight = false; // a reset proves nothing either way
    this.#outliers.failed(state, this.#states, now);
  }

  /**
   * Whether one more retry is allowed. Retries spend from a budget, so they cannot multiply the load
   * during an outage; except a connection lost (no answer) on a target whose previous request went
   * well: that is the idle keep-alive race, not an outage, and it is retried for free.
   */
  tryRetry(failed?: TargetState, outcome?: RequestOutcome): boolean {
    if (outcome === 'error' && failed !== undefined && failed.consecutiveErrors <= 1) return true;
    return this.#budget.tryRetry();
  }

  /** Up when at least one target passes its checks and its breaker is not open. */
  healthy(): boolean {
    const now = this.#now();
    let up = false;
    for (const s of this.#states) {
      this.#publish(s, now);
      if (s.healthy && (s.breaker !== 'open' || s.breakerOpenUntil <= now)) up = true;
    }
    return up;
  }

  /** Per-target state, for /health and diagnostics. */
  snapshot(): TargetHealth[] {
    const now = this.#now();
    return this.#states.map((s) => ({
      target: s.target.id,
      available: s.available(now),
      healthy: s.healthy,
      ejected: s.ejectedUntil > now,
      breaker: s.breaker === 'open' && s.breakerOpenUntil <= now ? 'half-open' : s.breaker,
      inFlight: s.inFlight,
    }));
  }

  /**
   * What /health reports: up when a target that passed its checks can take traffic; down when every
   * target was checked and none can; unknown without checks or before the first answers.
   */
  status(): ServiceStatus {
    this.healthy(); // keeps the target gauges current, as /health always did
    if (this.#states.length === 0) return false;
    if (this.#checks.check === undefined) return 'unknown';
    const now = this.#now();
    let unchecked = false;
    for (const s of this.#states) {
      if (!s.checked) unchecked = true;
      else if (s.healthy && (s.breaker !== 'open' || s.breakerOpenUntil <= now)) return true;
    }
    return unchecked ? 'unknown' : false;
  }

  /** Starts the active health checks; resolves when the first round has answered. Idempotent. */
  start(): Promise<void> {
    return this.#checks.start();
  }

  /** Stops checks (aborting probes in flight) and timers; resolves once they have stopped. */
  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      for (const s of this.#states) this.#shared.release(s.target.id);
    }
    this.#outliers.stop();
    await this.#checks.stop();
  }

  /** Runs one round of active checks on every target. */
  checkNow(): Promise<void> {
    return this.#checks.round();
  }

  #unavailable(now: number): GatewayError {
    if (this.#states.length === 0) {
      return new GatewayError('GW_UPSTREAM_UNAVAILABLE', { detail: `service "${this.name}" has no targets` });
    }
    let soonest = Number.POSITIVE_INFINITY;
    for (const s of this.#states)
      if (s.breaker === 'open') soonest = Math.min(soonest, s.breakerOpenUntil - now);
    const seconds = Number.isFinite(soonest) ? Math.max(1, Math.ceil(soonest / 1000)) : 1;
    return new GatewayError('GW_UPSTREAM_UNAVAILABLE', {
      detail: `service "${this.name}" is unavailable`,
      headers: { 'retry-after': String(seconds) },
    });
  }

  /** Writes the target's health gauge when its availability changed. */
  #publish(s: TargetState, now: number): void {
    const available = s.available(now);
    if (available === s.published) return;
    s.published = available;
    s.changedAt = now;
    this.deps.metrics.targetHealth(this.name, s.target.id, available);
    // Back in rotation: the service holds more places now, so queued requests may go in.
    if (available) this.#shared.admission?.wake();
  }
}
