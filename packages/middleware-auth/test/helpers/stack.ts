import type { GatewayPlugin } from '@lucid/gateway-core';
import {
  type Reply,
  type RunningGateway,
  type SeenRequest,
  send,
  startGateway,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import { type AuthOptionsInput, jwtAuth } from '../../src/index.js';

export interface AuthStack {
  gateway: RunningGateway;
  upstream: Upstream;
  plugin: GatewayPlugin;
  /** GET (or another method) through the gateway with the given headers. */
  get(path: string, headers?: Record<string, string | string[]>, method?: string): Promise<Reply>;
  /** Requests the upstream got, health probes left out. */
  proxied(): SeenRequest[];
  close(): Promise<void>;
}

/** The routes every integration test uses: protected, public, scoped and claim-matched. */
export const ROUTES = [
  { prefix: '/api', service: 'api' },
  { prefix: '/public', service: 'api', auth: 'public' },
  { prefix: '/admin', service: 'api', scopes: ['admin'] },
  { prefix: '/reports', service: 'api', scopes: ['read', 'reports'] },
  { prefix: '/ops', service: 'api', claims: { role: ['ops', 'sre'] } },
];

/** A real gateway on loopback with the auth plugin, in front of a real echoing upstream. */
export async function startAuthStack(
  auth: AuthOptionsInput,
  opts: {
    engine?: 'undici' | 'http-proxy';
    routes?: unknown[];
    builtins?: unknown;
    /** More services besides `api`. */
    services?: Record<string, unknown>;
    /** Plugins that run with auth (e.g. a probe that reports `ctx.state`). */
    extraPlugins?: GatewayPlugin[];
  } = {},
): Promise<AuthStack> {
  const upstream = await startUpstream();
  const plugin = jwtAuth(auth);
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(
      {
        server: { engine: opts.engine ?? 'undici' },
        services: { api: { targets: [upstream.url] }, ...opts.services },
        routes: opts.routes ?? ROUTES,
        ...(opts.builtins !== undefined && { builtins: opts.builtins }),
      },
      [plugin, ...(opts.extraPlugins ?? [])],
    );
  } catch (err) {
    await upstream.close();
    throw err;
  }
  return {
    gateway,
    upstream,
    plugin,
    get: (path, headers = {}, method = 'GET') => send(`${gateway.url}${path}`, { method, headers }),
    proxied: () => upstream.seen.filter((r) => !r.url.startsWith('/health')),
    close: async () => {
      await gateway.close();
      await upstream.close();
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
