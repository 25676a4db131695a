import { performance } from 'node:perf_hooks';
import { type ConsumeResult, gcraStep, intervalUs, type Policy, usToMs } from '../algorithm/gcra.js';
import type { RateLimitStore } from './types.js';

export interface MemoryStoreOptions {
  /** Most keys kept; beyond it the least recently admitted key is dropped. */
  maxKeys?: number;
  /** How often expired keys are swept, in ms. */
  sweepIntervalMs?: number;
  /** The clock, in milliseconds; monotonic by default so wall-clock jumps change nothing. */
  now?: () => number;
}

/**
 * GCRA in this process: exact and atomic (one synchronous step per call), bounded by an LRU cap
 * and a periodic sweep of keys whose budget is full again. Counts are per process: use
 * `RedisStore` when several gateway instances must share one limit.
 *
 * @example
 * const store = new MemoryStore({ maxKeys: 50_000 });
 * const r = await store.consume('ip:203.0.113.9', { limit: 100, windowMs: 60_000 });
 */
export class MemoryStore implements RateLimitStore {
  readonly name = 'memory';
  readonly #tats = new Map<string, number>();
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#now = options.now ?? (() => performance.now());
    this.#sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 10_000);
    this.#sweeper.unref();
  }

  /** Keys currently held. */
  get size(): number {
    return this.#tats.size;
  }

  consume(key: string, policy: Policy, cost = 1): Promise<ConsumeResult> {
    return Promise.resolve(this.consumeSync(key, policy, cost));
  }

  /** The same decision without a promise, for callers on the hot path that can use it. */
  consumeSync(key: string, policy: Policy, cost = 1): ConsumeResult {
    const now = Math.round(this.#now() * 1000);
    const step = gcraStep(this.#tats.get(key), now, intervalUs(policy), policy.limit, cost);
    if (step.allowed) {
      // Delete then set moves the key to the end, so the Map's order is least recently admitted first.
      this.#tats.delete(key);
      this.#tats.set(key, step.tat);
      if (this.#tats.size > this.#maxKeys) this.#tats.delete(this.#tats.keys().next().value!);
    }
    return {
      allowed: step.allowed,
      limit: policy.limit,
      remaining: step.remaining,
      resetMs: usToMs(step.resetUs),
      retryAfterMs: usToMs(step.retryAfterUs),
    };
  }

  /** Drops keys whose budget is full again (their TAT has passed): they hold nothing a new key would not. */
  sweep(): void {
    const now = Math.round(this.#now() * 1000);
    for (const [key, tat] of this.#tats) if (tat <= now) this.#tats.delete(key);
  }

  async health() {
    return { healthy: true, detail: { store: this.name, keys: this.#tats.size } };
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#tats.clear();
  }
}
