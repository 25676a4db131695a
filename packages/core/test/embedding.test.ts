import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import {
  ConfigError,
  createGateway,
  createLogger,
  type Gateway,
  type GatewayConfigInput,
  type GatewayPlugin,
  HttpProxyEngine,
  type ProxyEngine,
  UndiciEngine,
} from '@lucid/gateway-core';
import { send, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';

const silent = () => createLogger({ level: 'silent', pretty: false, accessLog: false });

/** Declares authentication and sets no identity: protected routes build, and core refuses them. */
const doNothingAuthenticator: GatewayPlugin = { name: 'do-nothing', provides: ['authentication'] };

/** A third-party authenticator: everyone is `bob`, with no scope. */
const bobAuthenticator: GatewayPlugin = {
  name: 'bob',
  provides: ['authentication'],
  middleware: () =>
    async function bob(ctx, next) {
      ctx.state.identity = { sub: 'bob', scopes: new Set(), claims: { sub: 'bob' } };
      await next();
    },
};

const FORGED = {
  'x-user-id': 'admin',
  'x-user-tier': 'enterprise',
  'x-user-scopes': 'admin',
  'x-tenant': 'other-tenant',
};

function configFor(upstream: Upstream, extra: Partial<GatewayConfigInput> = {}): GatewayConfigInput {
  return {
    logging: { level: 'silent', pretty: false, accessLog: false },
    services: { api: { targets: [upstream.url] } },
    routes: [
      { prefix: '/private', service: 'api' },
      { prefix: '/public', service: 'api', auth: 'public' },
    ],
    ...extra,
  };
}

describe('embedding: core fails closed', () => {
  let upstream: Upstream | undefined;
  const gateways: Gateway[] = [];
  const servers: Server[] = [];
  afterEach(async () => {
    for (const g of gateways.splice(0)) await g.close({ graceMs: 0 });
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    await upstream?.close();
    upstream = undefined;
  });

  /** Serves the gateway from an app's own server, as an embedder would. */
  async function embed(gateway: Gateway): Promise<string> {
    gateways.push(gateway);
    const server = createServer(gateway.handler);
    server.on('upgrade', gateway.upgrade);
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    await gateway.start();
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }

  it('refuses a protected route when no plugin authenticates, naming every such route', async () => {
    upstream = await startUpstream();
    const config = configFor(upstream, {
      routes: [
        { prefix: '/private', service: 'api' },
        { prefix: '/admin', service: 'api', name: 'admin-area', scopes: ['admin'] },
        { prefix: '/public', service: 'api', auth: 'public' },
      ],
    });
    let caught: unknown;
    try {
      createGateway(config, { logger: silent() });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const issues = (caught as ConfigError).issues;
    expect(issues.map((i) => i.path)).toEqual(['routes[0].auth', 'routes[1].auth']);
    expect(issues[0]!.message).toContain('"/private" needs a verified identity');
    expect(issues[1]!.message).toContain('"admin-area"');
    expect((caught as Error).message).toContain('/private');
  });

  it('refuses a built-in that requires auth without an authenticator', () => {
    expect(() =>
      createGateway({ builtins: { metrics: { auth: 'required' } } }, { logger: silent() }),
    ).toThrow(/builtins\.metrics\.auth/);
  });

  it('refuses on reload too, and keeps serving the previous config', async () => {
    upstream = await startUpstream();
    const gateway = createGateway(
      configFor(upstream, { routes: [{ prefix: '/public', service: 'api', auth: 'public' }] }),
      {
        logger: silent(),
      },
    );
    const url = await embed(gateway);
    await expect(gateway.reload(configFor(upstream))).rejects.toBeInstanceOf(ConfigError);
    expect((await send(`${url}/public/x`)).status).toBe(200);
  });

  it('builds with a do-nothing plugin that declares authentication, and answers 401 without an identity', async () => {
    upstream = await startUpstream();
    const gateway = createGateway(configFor(upstream), {
      plugins: [doNothingAuthenticator],
      logger: silent(),
    });
    const url = await embed(gateway);
    const res = await send(`${url}/private/refused`);
    expect(res.status).toBe(401);
    expect(res.json()).toMatchObject({ code: 'GW_UNAUTHORIZED', detail: 'authentication required' });
    expect((await send(`${url}/public/x`)).status).toBe(200);
    expect(upstream.seen.map((r) => r.url)).toEqual(['/x']);
    expect(gateway.routes().find((r) => r.prefix === '/private')?.auth).toBe('required');
  });

  it('does not take a plugin that only says it authenticates in its name', () => {
    const impostor: GatewayPlugin = { name: 'authentication' };
    expect(() =>
      createGateway(configFor({ url: 'http://127.0.0.1:1' } as Upstream), { plugins: [impostor] }),
    ).toThrow(ConfigError);
  });

  describe.each([
    ['without any plugin (public routes only)', [] as GatewayPlugin[], ['/public/x']],
    ['with a third-party authenticator', [bobAuthenticator], ['/public/x', '/private/x']],
  ] as const)('forged identity headers never reach an upstream: %s', (_name, plugins, paths) => {
    it.each(['undici', 'http-proxy'] as const)('over HTTP (%s engine)', async (engine) => {
      upstream = await startUpstream();
      const routes =
        plugins.length === 0 ? [{ prefix: '/public', service: 'api', auth: 'public' as const }] : undefined;
      const gateway = createGateway(configFor(upstream, { server: { engine }, ...(routes && { routes }) }), {
        plugins: [...plugins],
        logger: silent(),
      });
      const url = await embed(gateway);
      for (const path of paths) {
        for (const name of ['x-user-id', 'X-User-Id', 'x-user-tier', 'x-user-scopes']) {
          const res = await send(`${url}${path}`, { headers: { [name]: 'forged' } });
          expect(res.status).toBe(200);
        }
        await send(`${url}${path}`, { headers: FORGED });
      }
      expect(upstream.seen.length).toBeGreaterThan(0);
      for (const seen of upstream.seen) {
        expect(seen.headers['x-user-id']).toBeUndefined();
        expect(seen.headers['x-user-tier']).toBeUndefined();
        expect(seen.headers['x-user-scopes']).toBeUndefined();
        // Not an identity header: a client's own header passes.
        if (seen.headers['x-tenant'] !== undefined) expect(seen.headers['x-tenant']).toBe('other-tenant');
      }
    });
  });

  it('strips the headers the config names, and those a plugin declares, on every route', async () => {
    upstream = await startUpstream();
    const declares: GatewayPlugin = {
      ...bobAuthenticator,
      name: 'declares',
      identityHeaders: ['X-Auth-Subject'],
    };
    const gateway = createGateway(configFor(upstream, { server: { identityHeaders: ['x-tenant'] } }), {
      plugins: [declares],
      logger: silent(),
    });
    const url = await embed(gateway);
    for (const path of ['/public/x', '/private/x']) {
      await send(`${url}${path}`, {
        headers: { 'x-tenant': 'forged', 'x-auth-subject': 'forged', 'x-user-id': 'forged' },
      });
    }
    expect(upstream.seen).toHaveLength(2);
    for (const seen of upstream.seen) {
      expect(seen.headers['x-tenant']).toBeUndefined();
      expect(seen.headers['x-auth-subject']).toBeUndefined();
      // A list of one's own adds to core's defaults, never replaces them.
      expect(seen.headers['x-user-id']).toBeUndefined();
    }
  });

  it('refuses an identity header list entry that is not a header name', () => {
    expect(() => createGateway({ server: { identityHeaders: ['x user'] } }, { logger: silent() })).toThrow(
      /server\.identityHeaders\[0\]: expected a header name/,
    );
  });

  it('strips forged identity headers from a WebSocket handshake', async () => {
    const handshakes: IncomingHttpHeaders[] = [];
    const wsServer = createServer();
    const wss = new WebSocketServer({
      server: wsServer,
      verifyClient: (info, done) => {
        handshakes.push(info.req.headers);
        done(true);
      },
    });
    wss.on('connection', (ws) => ws.send('hi'));
    servers.push(wsServer);
    wsServer.listen(0, '127.0.0.1');
    await once(wsServer, 'listening');
    const target = `http://127.0.0.1:${(wsServer.address() as { port: number }).port}`;
    const gateway = createGateway(
      {
        logging: { level: 'silent', pretty: false, accessLog: false },
        services: { ws: { targets: [target] } },
        routes: [
          { prefix: '/ws', service: 'ws' },
          { prefix: '/open', service: 'ws', auth: 'public' },
        ],
      },
      { plugins: [bobAuthenticator], logger: silent() },
    );
    const url = await embed(gateway);
    for (const path of ['/ws', '/open']) {
      const client = new WebSocket(`${url.replace('http', 'ws')}${path}`, { headers: FORGED });
      const [greeting] = await once(client, 'message');
      expect(String(greeting)).toBe('hi');
      client.close();
      await once(client, 'close');
    }
    expect(handshakes).toHaveLength(2);
    for (const h of handshakes) {
      expect(h['x-user-id']).toBeUndefined();
      expect(h['x-user-scopes']).toBeUndefined();
    }
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
});

describe('reload lets go of targets that are gone', () => {
  it.each(['undici', 'http-proxy'] as const)('closes their connection pools (%s engine)', async (engine) => {
    const a = await startUpstream();
    const b = await startUpstream();
    const real = engine === 'undici' ? new UndiciEngine() : new HttpProxyEngine();
    const retained: string[][] = [];
    const recording: ProxyEngine = {
      name: real.name,
      forward: (ctx, target, outgoing) => real.forward(ctx, target, outgoing),
      retain: (ids) => {
        retained.push([...ids]);
        real.retain?.(ids);
      },
      close: () => real.close(),
    };
    const config = (target: string): GatewayConfigInput => ({
      logging: { level: 'silent', pretty: false, accessLog: false },
      services: { api: { targets: [target] } },
      routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
    });
    const gateway = createGateway(config(a.url), { engine: recording, logger: silent() });
    try {
      const { port } = await gateway.listen({ port: 0, host: '127.0.0.1' });
      expect((await send(`http://127.0.0.1:${port}/api/x`)).status).toBe(200);
      // The gateway keeps its connection to `a` for the next request.
      expect(a.connections()).toBe(1);
      await gateway.reload(config(b.url));
      expect(retained.at(-1)).toEqual([new URL(b.url).origin]);
      await a.untilNoConnections();
      expect((await send(`http://127.0.0.1:${port}/api/x`)).status).toBe(200);
      expect(b.seen).toHaveLength(1);
    } finally {
      await gateway.close({ graceMs: 0 });
      await a.close();
      await b.close();
    }
  });
});
