import type { GatewayPlugin } from '@lucid/gateway-core';
import { type RunningGateway, startGateway } from '@lucid/test-kit';

export interface GrpcGateway extends RunningGateway {
  /** `127.0.0.1:port` for grpc-js clients. */
  address: string;
}

/**
 * The kit's gateway (h2c and HTTP/1.1 on a plain port, or HTTPS with ALPN h2 and http/1.1 given
 * `tls` files), with the address grpc-js clients dial.
 */
export async function startGrpcGateway(
  config: Record<string, unknown>,
  plugins: GatewayPlugin[] = [],
  opts: { tls?: { certFile: string; keyFile: string } } = {},
): Promise<GrpcGateway> {
  const server = (config.server ?? {}) as Record<string, unknown>;
  const withTls = opts.tls
    ? { ...config, server: { ...server, tls: { cert: opts.tls.certFile, key: opts.tls.keyFile } } }
    : config;
  const gw = await startGateway(withTls, plugins);
  return { ...gw, address: `127.0.0.1:${gw.port}`, close: () => gw.gateway.close({ graceMs: 100 }) };
}
