import { counterOn, type PluginSetup } from '@lucid/gateway-core';
import { FAILURE_REASONS, type FailureReason } from '../jwt/failure.js';

export interface FailureCounter {
  inc(reason: FailureReason): void;
}

/**
 * `<prefix>auth_failures_total{reason}` on the gateway's registry. Every reason is bound up front,
 * so each starts at 0 (rates and alerts work at once) and counting is one addition.
 */
export function registerFailureCounter(registry: PluginSetup['registry'], name: string): FailureCounter {
  const family = counterOn(registry, name, 'Requests refused by authentication or authorization, by reason', [
    'reason',
  ]);
  const byReason = new Map(FAILURE_REASONS.map((reason) => [reason, family.labels(reason)]));
  return {
    inc(reason) {
      (byReason.get(reason) ?? family.labels(reason)).inc();
    },
  };
}
