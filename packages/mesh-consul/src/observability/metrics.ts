import type { PluginSetup } from '@lucid/gateway-core';

export type ConsulOperation = 'health' | 'register' | 'deregister' | 'ca_roots' | 'ca_leaf';

/** The mesh's metrics; no-ops until the gateway hands over its registry in `setup()`. */
export interface MeshMetrics {
  staleServices(count: number): void;
  error(operation: ConsulOperation): void;
}

export const noMetrics: MeshMetrics = { staleServices() {}, error() {} };

type Registry = PluginSetup['registry'];
type Metric = Parameters<Registry['registerMetric']>[0];

/** A collector in prom-client's metric shape (name, help, type, get, reset), so no second prom-client is needed. */
interface Collector<S> {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  aggregator: 'max' | 'sum';
  state: S;
  values(state: S): Array<{ value: number; labels: Record<string, string> }>;
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: unknown[] }>;
  reset(): void;
}

function collector<S>(
  registry: Registry,
  spec: Pick<Collector<S>, 'name' | 'help' | 'type' | 'aggregator' | 'values'>,
  initial: () => S,
): Collector<S> {
  // Two gateways sharing one registry share the mesh's collectors instead of failing to register.
  const existing = registry.getSingleMetric(spec.name) as unknown as Collector<S> | undefined;
  if (existing && 'state' in existing) return existing;
  const c: Collector<S> = {
    ...spec,
    state: initial(),
    async get() {
      return {
        name: c.name,
        help: c.help,
        type: c.type,
        aggregator: c.aggregator,
        values: c.values(c.state),
      };
    },
    reset() {
      c.state = initial();
    },
  };
  registry.registerMetric(c as unknown as Metric);
  return c;
}

/**
 * Registers `<prefix>consul_stale_services` and `<prefix>consul_errors_total{operation}` on the
 * gateway's registry.
 *
 * @example const metrics = registerMeshMetrics(registry, 'lucid_gateway_')
 */
export function registerMeshMetrics(registry: Registry, prefix: string): MeshMetrics {
  const stale = collector<{ count: number }>(
    registry,
    {
      name: `${prefix}consul_stale_services`,
      help: 'Services whose Consul targets are stale (the last answer failed or was empty; the last known targets stay in use)',
      type: 'gauge',
      aggregator: 'max',
      values: (s) => [{ value: s.count, labels: {} }],
    },
    () => ({ count: 0 }),
  );
  const errors = collector<Map<ConsulOperation, number>>(
    registry,
    {
      name: `${prefix}consul_errors_total`,
      help: 'Failed Consul API calls, by operation',
      type: 'counter',
      aggregator: 'sum',
      values: (s) => [...s].map(([operation, value]) => ({ value, labels: { operation } })),
    },
    () => new Map(),
  );
  return {
    staleServices(count) {
      stale.state.count = count;
    },
    error(operation) {
      errors.state.set(operation, (errors.state.get(operation) ?? 0) + 1);
    },
  };
}
