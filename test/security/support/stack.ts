import type { GatewayPlugin } from '@lucid/gateway-core';
import { jwtAuth } from '@lucid/middleware-auth';
import { rateLimit } from '@lucid/middleware-ratelimit';
import { type RunningGateway, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { startTap, type Tap } from './tap.js';
import { AUTH } from './token.js';

export const HOST = 'api.lucid.dev';
export const ORIGIN = 'https://app.lucid.dev';
/** The last request of a raw exchange: answered, then the gateway closes, so the close ends the read. */
export const END = `GET /public/__end HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`;

export interface Stack {
  port: number;
  url: string;
  gateway: RunningGateway;
  upstream: Upstream;
  /** The raw bytes between the gateway and the upstream. */
  tap: Tap;
  close(): Promise<void>;
}

export type Engine = 'undici' | 'http-proxy';

/**
 * The suite's gateway: a public prefix beside protected ones, one upstream behind a recording tap,
 * JWT auth and a tiered rate limit, small limits so the edges are cheap to reach.
 */
export async function startStack(
  opts: {
    engine?: Engine;
    server?: Record<string, unknown>;
    plugins?: GatewayPlugin[];
    /** The free tier's rate (the default tier); high unless a case is about limits. */
    freeRate?: string;
  } = {},
): Promise<Stack> {
  const upstream = await startUpstream();
  const tap = await startTap(upstream.port);
  const config = {
    server: {
      engine: opts.engine ?? 'undici',
      allowedHosts: [HOST, '127.0.0.1'],
      limits: { body: '64kb', headers: '8kb' },
      cors: { origins: [ORIGIN], credentials: true },
      ...opts.server,
    },
    logging: { level: 'warn', pretty: false, accessLog: false },
    services: {
      svc: { targets: [tap.url], retry: { attempts: 0 }, health: false },
    },
    // Prefixes are kept, so the upstream's `seen` says which route a request took.
    routes: [
      { prefix: '/auth', service: 'svc', auth: 'public', stripPrefix: false },
      { prefix: '/public', service: 'svc', auth: 'public', stripPrefix: false },
      { prefix: '/admin', service: 'svc', scopes: ['admin'], stripPrefix: false },
      { prefix: '/api', service: 'svc', stripPrefix: false },
    ],
  };
  const plugins = opts.plugins ?? [
    jwtAuth(AUTH),
    rateLimit({
      tiers: { free: opts.freeRate ?? '100000/min', enterprise: '1000000/min' },
      defaultTier: 'free',
      keyBy: 'user',
    }),
  ];
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(config, plugins);
  } catch (err) {
    await tap.close();
    await upstream.close();
    throw err;
  }
  return {
    port: gateway.port,
    url: gateway.url,
    gateway,
    upstream,
    tap,
    close: async () => {
      await gateway.close();
      await tap.close();
      await upstream.close();
    },
  };
}
