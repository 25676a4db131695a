import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { ServiceConfig } from '../config/schema.js';
import type { Probe } from './health-probe.js';
import type { TargetState } from './target-state.js';

/** A service's active check with every default filled in; no `path` and no `grpc`: a TCP connect. */
export interface ResolvedHealthCheck {
  path: string | undefined;
  /** The gRPC health check's service name ('' for the whole server); then `path` is unused. */
  grpc: string | undefined;
  interval: number;
  timeout: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

/**
 * The check a service gets: its own `health` settings, with interval and timeout from the
 * top-level `health` section unless it sets them; a service without `health` gets a TCP-connect
 * check on the same schedule (so /health always reports something measured); `false`: none.
 *
 * @example resolveHealthCheck('/health', { interval: 10_000, timeout: 2_000 }) // { path: '/health', interval: 10_000, ... }
 */
export function resolveHealthCheck(
  health: ServiceConfig['health'],
  defaults: { interval: number; timeout: number },
): ResolvedHealthCheck | undefined {
  if (health === false) return undefined;
  const grpc = health?.grpc === true ? '' : health?.grpc || undefined;
  return {
    path: grpc === undefined ? health?.path : undefined,
    grpc,
    interval: health?.interval ?? defaults.interval,
    timeout: health?.timeout ?? defaults.timeout,
    healthyThreshold: health?.healthyThreshold ?? 2,
    unhealthyThreshold: health?.unhealthyThreshold ?? 3,
  };
}

export interface ActiveCheckDeps {
  service: string;
  logger: Logger;
  /** The HTTP probe (checks with a path), or the gRPC probe (checks with `grpc`). */
  probe: Probe;
  /** The TCP-connect probe (checks without a path). */
  tcpProbe: Probe;
  /** Lets go of the probe's connections. */
  closeProbe(): Promise<void>;
  /** The pool's targets at the moment of a round. */
  states(): readonly TargetState[];
  /** A target back from the dead starts afresh: its breaker closes. */
  revive(s: TargetState): void;
  publish(s: TargetState, now: number): void;
  now(): number;
}

/**
 * Active health checks: every `interval`, a probe per target (HTTP GET of the path, a gRPC
 * health check, or a TCP connect); `unhealthyThreshold` failures in a row take it out of rotation, `healthyThreshold`
 * passes bring it back. A target's first failure counts at once.
 */
export class ActiveChecks {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = new AbortController();

  constructor(
    readonly check: ResolvedHealthCheck | undefined,
    private readonly deps: ActiveCheckDeps,
  ) {}

  /** Whether rounds are scheduled. */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts the rounds; resolves when the first has answered. Idempotent. */
  start(): Promise<void> {
    const check = this.check;
    if (!check || this.#timer) return Promise.resolve();
    if (this.#stopped.signal.aborted) this.#stopped = new AbortController();
    this.#timer = setInterval(() => this.runOnce(), check.interval);
    this.#timer.unref();
    return this.runOnce();
  }

  /** One round at a time: a round still running when the next is due is not doubled. */
  runOnce(): Promise<void> {
    this.#running ??= this.round().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops the rounds, aborting probes in flight, and resolves once the last round ended. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#stopped.abort();
    await this.#running;
    await this.deps.closeProbe().catch(() => {});
  }

  /** One round of checks on every target. */
  async round(): Promise<void> {
    const check = this.check;
    if (!check) return;
    const { deps } = this;
    const signal = this.#stopped.signal;
    await Promise.all(
      deps.states().map(async (s) => {
        const started = performance.now();
        const ok =
          check.grpc !== undefined
            ? await deps.probe(s.target.url, check.timeout, signal)
            : check.path
              ? await deps.probe(new URL(check.path, s.target.url), check.timeout, signal)
              : await deps.tcpProbe(s.target.url, check.timeout, signal);
        if (signal.aborted) return;
        const now = deps.now();
        s.lastCheck = { at: now, ok, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
        const first = !s.checked;
        s.checked = true;
        if (ok) this.#passed(s, check, now);
        else this.#failed(s, check, first);
        deps.publish(s, now);
      }),
    );
  }

  #passed(s: TargetState, check: ResolvedHealthCheck, now: number): void {
    s.checkFailures = 0;
    s.checkSuccesses++;
    if (!s.healthy && s.checkSuccesses >= check.healthyThreshold) {
      // Back from the dead: a fresh start, not the penalties of its last life.
      s.healthy = true;
      s.ejectedUntil = 0;
      s.ejections = 0;
      s.consecutiveErrors = 0;
      this.deps.revive(s);
      this.deps.logger.info({ service: this.deps.service, target: s.target.id }, 'target healthy');
    } else if (s.healthy && s.ejectedUntil > now) {
      // A passing check ends an ejection early (outlier detection is a guess, a check is a fact).
      s.ejectedUntil = 0;
      s.consecutiveErrors = 0;
    }
  }

  #failed(s: TargetState, check: ResolvedHealthCheck, first: boolean): void {
    s.checkSuccesses = 0;
    s.checkFailures++;
    // A first failure counts at once: a target never measured has no healthy streak to keep.
    if (s.healthy && (first || s.checkFailures >= check.unhealthyThreshold)) {
      s.healthy = false;
      this.deps.logger.warn({ service: this.deps.service, target: s.target.id }, 'target unhealthy');
    }
  }
}
