import type { PluginSetup } from '@lucid/gateway-core';
import { createConsulApi } from '../client/consul-client.js';
import { parseMeshConfig } from '../config/parse.js';
import { type MeshConfigInput, registerConfigSchema } from '../config/schema.js';
import { createMeshContext } from '../context.js';
import { type ConsulRegistration, createRegistration } from './consul-registration.js';

export type { ConsulRegistration } from './consul-registration.js';
export { buildRegistration } from './consul-registration.js';

/**
 * Self-registration on its own (`consulMesh` includes it): `start(gateway)` registers,
 * `stop()` deregisters and closes the client. Uses `consul.register` (defaults when omitted).
 *
 * @example
 * const registration = consulRegistration({ consul: { register: { port: 8080 } } })
 * await registration.start(gateway)
 */
export function consulRegistration(
  options: MeshConfigInput = {},
  deps: { logger?: PluginSetup['logger'] } = {},
): ConsulRegistration {
  const config = parseMeshConfig(options);
  const ctx = createMeshContext(config, createConsulApi(config));
  if (deps.logger) ctx.log = deps.logger;
  const registration = createRegistration(ctx, config.register ?? registerConfigSchema.parse({}));
  return {
    get registration() {
      return registration.registration;
    },
    start: (gateway) => registration.start(gateway),
    health: () => registration.health(),
    async stop() {
      await registration.stop();
      ctx.api.destroy();
    },
  };
}
