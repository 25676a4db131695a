import type { Logger } from 'pino';
import type { TargetState } from './target-state.js';

export interface OutlierConfig {
  /** Consecutive 5xx or failed connections that eject a target. */
  failures: number;
  /** The first ejection's length; it doubles for a target that keeps failing. */
  ejection: number;
  maxEjection: number;
}

/**
 * Passive outlier detection: a target that keeps failing is taken out of rotation for a while,
 * never the last one that can take traffic.
 */
export class OutlierEjection {
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly config: OutlierConfig,
    private readonly service: string,
    private readonly logger: Logger,
    private readonly publish: (s: TargetState, now: number) => void,
    private readonly now: () => number,
    /** Called on each ejection (for the metrics). */
    private readonly ejected: (s: TargetState) => void = () => {},
  ) {}

  /** Counts a failed request; ejects the target when it crossed the threshold and another can serve. */
  failed(state: TargetState, states: readonly TargetState[], now: number): void {
    state.consecutiveErrors++;
    if (state.consecutiveErrors < this.config.failures || state.ejectedUntil > now) return;
    if (!this.#canEject(state, states, now)) return;
    this.#eject(state, now);
  }

  /** Cancels the timers that publish an ejection's end. */
  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  /** Never eject the last target that can take traffic. */
  #canEject(state: TargetState, states: readonly TargetState[], now: number): boolean {
    for (const s of states) {
      if (s !== state && s.healthy && s.ejectedUntil <= now && s.breaker !== 'open') return true;
    }
    return false;
  }

  #eject(s: TargetState, now: number): void {
    const { ejection, maxEjection } = this.config;
    // The penalty grows for a target that keeps failing, and is forgiven after a long clean run.
    s.ejections = now - s.ejectedUntil > maxEjection ? 1 : s.ejections + 1;
    const ms = Math.min(ejection * 2 ** (s.ejections - 1), Math.max(ejection, maxEjection));
    s.ejectedUntil = now + ms;
    s.consecutiveErrors = 0;
    this.logger.warn({ service: this.service, target: s.target.id, ejectedMs: ms }, 'target ejected');
    this.ejected(s);
    this.publish(s, now);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.publish(s, this.now());
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }
}
