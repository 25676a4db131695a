import { createSecureServer, createServer, type Http2SecureServer, type Http2Server } from 'node:http2';
import {
  createGateway,
  createLogger,
  type Gateway,
  type GatewayConfigInput,
  type GatewayPlugin,
} from '@lucid/gateway-core';
import { allowAnyone, logSink } from '@lucid/test-kit';
import { H2StandIn } from './h2-stand-in.js';

export interface GrpcGateway {
  /** `127.0.0.1:port` for grpc-js clients. */
  address: string;
  /** `http://` or `https://` origin, for fetch. */
  url: string;
  gateway: Gateway;
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** A gateway listening for HTTP/2 (h2c, or TLS with ALPN h2 and http/1.1) and HTTP/1.1, logging into memory. */
export async function startGrpcGateway(
  config: Record<string, unknown>,
  plugins: GatewayPlugin[] = [],
  opts: { tls?: { cert: string; key: string }; http1?: boolean } = {},
): Promise<GrpcGateway> {
  const sink = logSink();
  const logger = createLogger({ level: 'info', pretty: false, accessLog: true }, sink.stream);
  const all = plugins.some((p) => p.provides?.includes('authentication'))
    ? plugins
    : [allowAnyone, ...plugins];
  const gateway = createGateway(config as GatewayConfigInput, {
    plugins: all,
    logger,
    engine: new H2StandIn(),
  });
  if (opts.http1) {
    const { port } = await gateway.listen({ port: 0, host: '127.0.0.1' });
    return {
      address: `127.0.0.1:${port}`,
      url: `http://127.0.0.1:${port}`,
      gateway,
      logs: sink.lines,
      close: () => gateway.close({ graceMs: 100 }),
    };
  }
  await gateway.start();
  const server: Http2Server | Http2SecureServer = opts.tls
    ? createSecureServer({ ...opts.tls, allowHTTP1: true }, gateway.handler as never)
    : createServer({}, gateway.handler as never);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const sessions = new Set<{ destroy(): void }>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  return {
    address: `127.0.0.1:${port}`,
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    gateway,
    logs: sink.lines,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sessions) s.destroy();
      await closed;
      await gateway.close({ graceMs: 100 });
    },
  };
}
