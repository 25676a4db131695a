import type { ComponentHealth } from '@lucid/gateway-core';
import type { ConsumeResult, Policy } from '../algorithm/gcra.js';

export type { ConsumeResult, Policy };

/**
 * Where limits are counted. `consume` is atomic per key: concurrent calls for one key never
 * admit more than the policy allows, whatever their interleaving.
 */
export interface RateLimitStore {
  readonly name: string;
  /** Spends `cost` (default 1) from `key`'s budget under `policy`. Rejects only when the store fails. */
  consume(key: string, policy: Policy, cost?: number): Promise<ConsumeResult>;
  /** Opens connections, when the store has any. */
  connect?(): Promise<void>;
  health?(): Promise<ComponentHealth>;
  /** Why an operation failed, in plain words for operators (no library phrase or stack). */
  describeError?(err: unknown): string;
  close(): Promise<void>;
}
