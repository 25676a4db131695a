import { counterOn, gaugeOn, type PluginSetup } from '@lucid/gateway-core';

export type ConsulOperation = 'health' | 'register' | 'deregister' | 'ca_roots' | 'ca_leaf';

/** The mesh's metrics; no-ops until the gateway hands over its registry in `setup()`. */
export interface MeshMetrics {
  staleServices(count: number): void;
  error(operation: ConsulOperation): void;
}

export const noMetrics: MeshMetrics = { staleServices() {}, error() {} };

/**
 * Registers `<prefix>consul_stale_services` and `<prefix>consul_errors_total{operation}` on the
 * gateway's registry.
 *
 * @example const metrics = registerMeshMetrics(registry, 'lucid_gateway_')
 */
export function registerMeshMetrics(registry: PluginSetup['registry'], prefix: string): MeshMetrics {
  const stale = gaugeOn(
    registry,
    `${prefix}consul_stale_services`,
    'Services whose Consul targets are stale (the last answer failed or was empty; the last known targets stay in use)',
  ).labels();
  const errors = counterOn(
    registry,
    `${prefix}consul_errors_total`,
    'Failed Consul API calls, by operation',
    ['operation'],
  );
  return {
    staleServices(count) {
      stale.set(count);
    },
    error(operation) {
      errors.labels(operation).inc();
    },
  };
}
