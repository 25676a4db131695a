import type { PluginSetup } from '@lucid/gateway-core';
import { createConsulApi } from '../client/consul-client.js';
import { parseMeshConfig } from '../config/parse.js';
import type { MeshConfigInput } from '../config/schema.js';
import { createMeshContext } from '../context.js';
import { type ConsulDiscovery, createDiscovery } from './consul-discovery.js';

export type { ConsulDiscovery, ServiceDiscoveryState, StaleReason } from './consul-discovery.js';
export { toTargets } from './targets.js';

/**
 * Consul discovery on its own (`consulMesh` includes it): a core `Discovery` whose `watch`
 * follows a service's healthy instances. `close()` stops every watch and the client.
 *
 * @example
 * const discovery = consulDiscovery({ consul: { url: 'http://127.0.0.1:8500' } })
 * const stop = discovery.watch('sessions', (targets) => pool.update(targets), { service: config.services.sessions })
 */
export function consulDiscovery(
  options: MeshConfigInput = {},
  deps: { logger?: PluginSetup['logger'] } = {},
): ConsulDiscovery & { close(): Promise<void> } {
  const config = parseMeshConfig(options);
  const ctx = createMeshContext(config, createConsulApi(config));
  if (deps.logger) ctx.log = deps.logger;
  const discovery = createDiscovery(ctx);
  return Object.assign(discovery, {
    async close() {
      await discovery.stopAll();
      ctx.api.destroy();
    },
  });
}
