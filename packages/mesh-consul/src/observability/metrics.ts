import type { PluginSetup } from '@lucid/gateway-core';

export type ConsulOperation = 'health' | 'register' | 'deregister' | 'ca_roots' | 'ca_leaf';

/** The mesh's metrics; no-ops until the gateway hands over its registry in `setup()`. */
export interface MeshMetrics {
  staleServices(count: number): void;
  error(operation: ConsulOperation): void;
}

export const noMetrics: MeshMetrics = { staleServices() {}, error() {} };

type Registry = PluginSetup['registry'];

/**
 * Registers `<prefix>consul_stale_services` and `<prefix>consul_errors_total{operation}` on the
 * gateway's registry. They are small collectors in prom-client's metric shape, so this package
 * needs no second copy of prom-client.
 *
 * @example const metrics = registerMeshMetrics(registry, 'lucid_gateway_')
 */
export function registerMeshMetrics(registry: Registry, prefix: string): MeshMetrics {
  let stale = 0;
  const errors = new Map<ConsulOperation, number>();
  const gauge = {
    name: `${prefix}consul_stale_services`,
    help: 'Services whose Consul targets are stale (last answer failed or was empty; the last known targets are kept)',
    type: 'gauge',
    aggregator: 'max',
    get: async () => ({
      name: gauge.name,
      help: gauge.help,
      type: gauge.type,
      aggregator: gauge.aggregator,
      values: [{ value: stale, labels: {} }],
    }),
    reset() {
      stale = 0;
    },
  };
  const counter = {
    name: `${prefix}consul_errors_total`,
    help: 'Failed Consul API calls, by operation',
    type: 'counter',
    aggregator: 'sum',
    get: async () => ({
      name: counter.name,
      help: counter.help,
      type: counter.type,
      aggregator: counter.aggregator,
      values: [...errors].map(([operation, value]) => ({ value, labels: { operation } })),
    }),
    reset() {
      errors.clear();
    },
  };
  registry.registerMetric(gauge as unknown as Parameters<Registry['registerMetric']>[0]);
  registry.registerMetric(counter as unknown as Parameters<Registry['registerMetric']>[0]);
  return {
    staleServices(count) {
      stale = count;
    },
    error(operation) {
      errors.set(operation, (errors.get(operation) ?? 0) + 1);
    },
  };
}
