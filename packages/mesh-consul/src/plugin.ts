import type {
  ComponentHealth,
  Gateway,
  GatewayPlugin,
  PluginSetup,
  ServiceConfig,
  TlsProvider,
} from '@lucid/gateway-core';
import { createConsulApi } from './client/consul-client.js';
import { parseMeshConfig } from './config/parse.js';
import { meshPluginSchema } from './config/plugin-schema.js';
import type { MeshConfigInput } from './config/schema.js';
import { type ConnectTls, createConnectTls } from './connect/connect-tls.js';
import { createMeshContext } from './context.js';
import { type ConsulDiscovery, createDiscovery } from './discovery/consul-discovery.js';
import { registerMeshMetrics } from './observability/metrics.js';
import { type ConsulRegistration, createRegistration } from './registration/consul-registration.js';

export interface ConsulMeshPlugin extends GatewayPlugin {
  name: 'consul';
  discovery: ConsulDiscovery;
  health(): Promise<ComponentHealth>;
}

/**
 * Consul for the gateway, as one plugin: discovery for services with `discovery: consul`,
 * self-registration while the gateway runs, and Connect mTLS to upstreams.
 *
 * @example
 * const gateway = createGateway(config, {
 *   plugins: [consulMesh({ consul: { url: 'http://127.0.0.1:8500', register: { port: 8080 } } })],
 * })
 */
export function consulMesh(options: MeshConfigInput = {}): ConsulMeshPlugin {
  const config = parseMeshConfig(options);
  const ctx = createMeshContext(config, createConsulApi(config));
  const discovery = createDiscovery(ctx);
  const registration = config.register && createRegistration(ctx, config.register);
  const identity = config.connect?.service ?? config.register?.name ?? 'lucid-api-gateway';
  const connect = config.connect?.enabled ? createConnectTls(ctx, identity) : undefined;
  let closed = false;

  return {
    name: 'consul',
    schema: meshPluginSchema,
    discovery,

    setup({ logger, registry, metricPrefix }: PluginSetup) {
      ctx.log = logger.child({ plugin: 'consul' });
      ctx.metrics = registerMeshMetrics(registry, metricPrefix);
    },

    upstreamTls(serviceName: string, service: ServiceConfig): TlsProvider | undefined {
      // Connect covers mesh services only; a service's own `tls` config wins.
      if (!connect || service.discovery !== 'consul' || service.tls) return undefined;
      return connect.provider(serviceName, service);
    },

    async start(gateway: Gateway) {
      // Serve with the first answers in hand (targets, certificates), not with empty pools.
      await bounded(Promise.all([discovery.settled(), connect?.start()]), START_WAIT_MS);
      await registration?.start(gateway);
    },

    // Before the drain: leave Consul, so others stop routing here while the gateway drains.
    async leave() {
      await registration?.stop();
    },

    // After the drain: requests in flight still needed the targets and certificates.
    async close() {
      if (closed) return;
      closed = true;
      await registration?.stop();
      await Promise.all([discovery.stopAll(), connect?.stop()]);
      ctx.api.destroy();
    },

    health: () => meshHealth(discovery, registration, connect),
  };
}

/** The longest start() waits for Consul's first answers; discovery keeps trying afterwards. */
const START_WAIT_MS = 10_000;

async function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

async function meshHealth(
  discovery: ConsulDiscovery,
  registration: ConsulRegistration | undefined,
  connect: ConnectTls | undefined,
): Promise<ComponentHealth> {
  const [d, r, c] = await Promise.all([discovery.health(), registration?.health(), connect?.health()]);
  return {
    healthy: d.healthy && (r?.healthy ?? true) && (c?.healthy ?? true),
    detail: {
      ...d.detail,
      ...(r ? { registration: r.detail } : {}),
      ...(c ? { connect: c.detail } : {}),
    },
  };
}
