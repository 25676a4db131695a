export { backoffDelay } from './client/backoff.js';
export { blockingLoop, nextIndex } from './client/blocking-loop.js';
export type { ConsulApi, HealthQuery, Indexed } from './client/consul-client.js';
export { createConsulApi } from './client/consul-client.js';
export type { CaRoots, HealthEntry, LeafCert } from './client/types.js';
export { parseMeshConfig } from './config/parse.js';
export {
  type ConsulServiceOptions,
  consulOptionsOf,
  consulServiceSchema,
  meshPluginSchema,
} from './config/plugin-schema.js';
export type { ConsulConfig, MeshConfig, MeshConfigInput, RegisterConfig } from './config/schema.js';
export { consulConfigSchema, meshConfigSchema, registerConfigSchema } from './config/schema.js';
export { parseServiceSpiffeId, serviceSpiffeId, spiffeIdentityCheck, uriSans } from './connect/spiffe.js';
export type { ConsulDiscovery, ServiceDiscoveryState, StaleReason } from './discovery/index.js';
export { consulDiscovery, toTargets } from './discovery/index.js';
export type { ConsulMeshPlugin } from './plugin.js';
export { consulMesh } from './plugin.js';
export type { ConsulRegistration } from './registration/index.js';
export { buildRegistration, consulRegistration } from './registration/index.js';
