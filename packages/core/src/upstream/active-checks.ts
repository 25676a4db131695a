import type { Logger } from 'pino';
import type { HealthCheckConfig } from '../config/schema.js';
import type { Probe } from './health-probe.js';
import type { TargetState } from './target-state.js';

export interface ActiveCheckDeps {
  service: string;
  logger: Logger;
  probe: Probe;
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
 * Active health checks: every `interval`, a probe per target; `unhealthyThreshold` failures in a
 * row take it out of rotation, `healthyThreshold` passes bring it back.
 */
export class ActiveChecks {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = new AbortController();

  constructor(
    private readonly check: HealthCheckConfig | undefined,
    private readonly deps: ActiveCheckDeps,
  ) {}

  /** Starts the rounds (when the service has a health path). Idempotent. */
  start(): void {
    const check = this.check;
    if (!check || this.#timer) return;
    if (this.#stopped.signal.aborted) this.#stopped = new AbortController();
    const run = () => {
      this.#running ??= this.round().finally(() => {
        this.#running = undefined;
      });
    };
    run();
    this.#timer = setInterval(run, check.interval);
    this.#timer.unref();
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
        const ok = await deps.probe(new URL(check.path, s.target.url), check.timeout, signal);
        if (signal.aborted) return;
        const now = deps.now();
        if (ok) this.#passed(s, check, now);
        else this.#failed(s, check);
        deps.publish(s, now);
      }),
    );
  }

  #passed(s: TargetState, check: HealthCheckConfig, now: number): void {
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

  #failed(s: TargetState, check: HealthCheckConfig): void {
    s.checkSuccesses = 0;
    s.checkFailures++;
    if (s.healthy && s.checkFailures >= check.unhealthyThreshold) {
      s.healthy = false;
      this.deps.logger.warn({ service: this.deps.service, target: s.target.id }, 'target unhealthy');
    }
  }
}
