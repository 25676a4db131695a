import {
  createGateway,
  createLogger,
  type Gateway,
  type GatewayConfigInput,
  type GatewayPlugin,
} from '@lucid/gateway-core';
import { allowAnyone, logSink } from '@lucid/test-kit';

export interface GrpcGateway {
  /** `127.0.0.1:port` for grpc-js clients. */
  address: string;
  /** `http://` or `https://` origin, for fetch. */
  url: string;
  gateway: Gateway;
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * A gateway on its own listener (h2c and HTTP/1.1 on a plain port, or HTTPS with ALPN h2 and
 * http/1.1 given `tls` files), logging into memory.
 */
export async function startGrpcGateway(
  config: Record<string, unknown>,
  plugins: GatewayPlugin[] = [],
  opts: { tls?: { certFile: string; keyFile: string } } = {},
): Promise<GrpcGateway> {
  const sink = logSink();
  const logger = createLogger({ level: 'info', pretty: false, accessLog: true }, sink.stream);
  const all = plugins.some((p) => p.provides?.includes('authentication'))
    ? plugins
    : [allowAnyone, ...plugins];
  const server = (config.server ?? {}) as Record<string, unknown>;
  const withTls = opts.tls
    ? { ...config, server: { ...server, tls: { cert: opts.tls.certFile, key: opts.tls.keyFile } } }
    : config;
  const gateway = createGateway(withTls as GatewayConfigInput, {
    plugins: all,
    logger,
  });
  const { port } = await gateway.listen({ port: 0, host: '127.0.0.1' });
  return {
    address: `127.0.0.1:${port}`,
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    gateway,
    logs: sink.lines,
    close: () => gateway.close({ graceMs: 100 }),
  };
}
