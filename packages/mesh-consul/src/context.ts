import type { ConsulApi } from './client/consul-client.js';
import type { ConsulConfig } from './config/schema.js';
import { type Log, silentLog } from './observability/log.js';
import { type MeshMetrics, noMetrics } from './observability/metrics.js';

/** What the mesh's parts share: the validated config, one Consul client, and the gateway's logger and metrics once `setup()` ran. */
export interface MeshContext {
  readonly config: ConsulConfig;
  readonly api: ConsulApi;
  log: Log;
  metrics: MeshMetrics;
}

export function createMeshContext(config: ConsulConfig, api: ConsulApi): MeshContext {
  return { config, api, log: silentLog, metrics: noMetrics };
}
