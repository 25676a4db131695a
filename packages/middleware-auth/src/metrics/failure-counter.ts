import type { PluginSetup } from '@lucid/gateway-core';
import { FAILURE_REASONS, type FailureReason } from '../jwt/failure.js';

export interface FailureCounter {
  inc(reason: FailureReason): void;
}

type Registry = PluginSetup['registry'];

const kFailureCounter = Symbol.for('lucid.auth.failureCounter');

/**
 * `<prefix>auth_failures_total{reason}` on the gateway's registry. It speaks prom-client's metric
 * protocol (`get()`/`reset()`, as `registerMetric` documents) instead of importing prom-client,
 * so this package does not depend on it; every reason starts at 0 so rates and alerts work at once.
 */
export function registerFailureCounter(registry: Registry, name: string): FailureCounter {
  const existing = registry.getSingleMetric(name) as unknown as
    | (FailureCounter & { [kFailureCounter]?: true })
    | undefined;
  if (existing?.[kFailureCounter]) return existing;

  const counts = new Map<FailureReason, number>(FAILURE_REASONS.map((r) => [r, 0]));
  const help = 'Requests refused by authentication or authorization, by reason';
  const metric = {
    [kFailureCounter]: true as const,
    name,
    help,
    type: 'counter' as const,
    aggregator: 'sum' as const,
    inc(reason: FailureReason) {
      counts.set(reason, (counts.get(reason) ?? 0) + 1);
    },
    async get() {
      return {
        name,
        help,
        type: 'counter' as const,
        aggregator: 'sum' as const,
        values: [...counts].map(([reason, value]) => ({ labels: { reason }, value })),
      };
    },
    reset() {
      for (const reason of counts.keys()) counts.set(reason, 0);
    },
  };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  return metric;
}
