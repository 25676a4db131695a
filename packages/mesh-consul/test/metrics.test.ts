import { createRequire } from 'node:module';
import type { PluginSetup } from '@lucid/gateway-core';
import { describe, expect, it } from 'vitest';
import { registerMeshMetrics } from '../src/observability/metrics.js';

// The gateway's registry is prom-client's, which core depends on.
const { Registry } = createRequire(new URL('../../core/package.json', import.meta.url))('prom-client') as {
  Registry: new () => PluginSetup['registry'];
};

describe('mesh metrics', () => {
  it('exposes stale services and errors by operation in the Prometheus text format', async () => {
    const registry = new Registry();
    const metrics = registerMeshMetrics(registry, 'lucid_gateway_');
    metrics.staleServices(2);
    metrics.error('health');
    metrics.error('health');
    metrics.error('register');
    const text = await registry.metrics();
    expect(text).toContain('# TYPE lucid_gateway_consul_stale_services gauge');
    expect(text).toMatch(/^lucid_gateway_consul_stale_services 2$/m);
    expect(text).toContain('# TYPE lucid_gateway_consul_errors_total counter');
    expect(text).toMatch(/^lucid_gateway_consul_errors_total\{operation="health"\} 2$/m);
    expect(text).toMatch(/^lucid_gateway_consul_errors_total\{operation="register"\} 1$/m);
    const json = await registry.getMetricsAsJSON();
    expect(json.map((m) => m.name)).toEqual([
      'lucid_gateway_consul_stale_services',
      'lucid_gateway_consul_errors_total',
    ]);
  });

  it('shares its collectors when a second gateway registers on the same registry', async () => {
    const registry = new Registry();
    const first = registerMeshMetrics(registry, 'x_');
    const second = registerMeshMetrics(registry, 'x_');
    first.error('ca_leaf');
    second.error('ca_leaf');
    expect(await registry.metrics()).toMatch(/^x_consul_errors_total\{operation="ca_leaf"\} 2$/m);
    registry.resetMetrics();
    expect(await registry.metrics()).not.toMatch(/ca_leaf/);
  });
});
