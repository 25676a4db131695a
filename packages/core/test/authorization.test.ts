import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { GatewayPlugin, Identity } from '@lucid/gateway-core';
import { type RunningGateway, send, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';

/**
 * A third-party authenticator, ten lines: trusts `x-test-user: <sub>[:scope,scope]` (a stand-in
 * for any credential it verifies) and sets the identity. It checks no route option itself.
 */
function headerAuthenticator(extra: Partial<GatewayPlugin> = {}): GatewayPlugin {
  return {
    name: 'header-auth',
    provides: ['authentication'],
    middleware: () =>
      async function headerAuth(ctx, next) {
        const raw = ctx.req.headers['x-test-user'];
        if (typeof raw === 'string') {
          const [sub, scopes = ''] = raw.split(':');
          ctx.state.identity = { sub, scopes: new Set(scopes.split(',').filter(Boolean)), claims: { sub } };
        }
        await next();
      },
    ...extra,
  };
}

const routes = [
  { prefix: '/private', service: 'api' },
  { prefix: '/admin', service: 'api', scopes: ['admin', 'ops'] },
  { prefix: '/public', service: 'api', auth: 'public' },
];

describe('core authorizes the identity a third-party plugin sets', () => {
  let upstream: Upstream | undefined;
  let gw: RunningGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    await upstream?.close();
    gw = undefined;
    upstream = undefined;
  });

  async function start(plugins: GatewayPlugin[], config: Record<string, unknown> = {}) {
    upstream = await startUpstream();
    gw = await startGateway({ services: { api: { targets: [upstream.url] } }, routes, ...config }, plugins, {
      failClosed: true,
    });
    return gw.url;
  }

  it('401 without an identity, 403 naming the missing scope, 200 with every scope', async () => {
    const url = await start([headerAuthenticator()]);
    const none = await send(`${url}/private/refused`);
    expect(none.status).toBe(401);
    expect(none.json()).toMatchObject({ code: 'GW_UNAUTHORIZED', detail: 'authentication required' });
    // No challenge was offered by the plugin: none is made up.
    expect(none.headers['www-authenticate']).toBeUndefined();

    expect((await send(`${url}/private/p`, { headers: { 'x-test-user': 'bob' } })).status).toBe(200);

    const noScope = await send(`${url}/admin/refused`, { headers: { 'x-test-user': 'bob' } });
    expect(noScope.status).toBe(403);
    expect(noScope.json()).toMatchObject({ code: 'GW_FORBIDDEN', detail: 'missing scope "admin"' });
    const oneOfTwo = await send(`${url}/admin/refused`, { headers: { 'x-test-user': 'bob:admin' } });
    expect(oneOfTwo.json()).toMatchObject({ code: 'GW_FORBIDDEN', detail: 'missing scope "ops"' });
    const both = await send(`${url}/admin/a`, { headers: { 'x-test-user': 'bob:ops,admin' } });
    expect(both.status).toBe(200);
    expect((await send(`${url}/public/q`)).status).toBe(200);
    // Only the allowed requests reached the upstream (the prefix is stripped).
    expect(upstream!.seen.map((r) => r.url)).toEqual(['/p', '/a', '/q']);
  });

  it("sends the authenticators' challenges and detail with core's 401 and 403", async () => {
    const refusals: Array<{ status: number; scopes: readonly string[]; sub: string | undefined }> = [];
    const url = await start([
      headerAuthenticator({
        challenge: (r) => {
          refusals.push({ status: r.status, scopes: r.scopes, sub: r.identity?.sub });
          return r.status === 401
            ? { header: 'Header realm="test"', detail: 'send x-test-user' }
            : { header: `Header realm="test", scope="${r.scopes.join(' ')}"` };
        },
      }),
      { name: 'second', provides: ['authentication'], challenge: () => ({ header: 'Other' }) },
    ]);
    const none = await send(`${url}/admin/x`);
    expect(none.status).toBe(401);
    expect(none.json()).toMatchObject({ detail: 'send x-test-user' });
    // Node joins a repeated WWW-Authenticate with ", " (RFC 9110 §11.6.1 allows either form).
    expect(none.headers['www-authenticate']).toBe('Header realm="test", Other');
    const denied = await send(`${url}/admin/x`, { headers: { 'x-test-user': 'bob' } });
    expect(denied.status).toBe(403);
    expect(denied.json()).toMatchObject({ detail: 'missing scope "admin"' });
    expect(denied.headers['www-authenticate']).toBe('Header realm="test", scope="admin ops", Other');
    expect(refusals).toEqual([
      { status: 401, scopes: ['admin', 'ops'], sub: undefined },
      { status: 403, scopes: ['admin', 'ops'], sub: 'bob' },
    ]);
  });

  it('fails closed on scopes that are not a Set', async () => {
    const arrayScopes: GatewayPlugin = {
      name: 'array-scopes',
      provides: ['authentication'],
      middleware: () =>
        async function arrayScopes(ctx, next) {
          // A sloppy plugin: an array (or a string) in place of a Set grants nothing.
          ctx.state.identity = { sub: 'x', scopes: ['admin', 'ops'], claims: {} } as unknown as Identity;
          await next();
        },
    };
    const url = await start([arrayScopes]);
    expect((await send(`${url}/admin/x`)).status).toBe(403);
    expect((await send(`${url}/private/x`)).status).toBe(200);
  });

  it('authorizes after the last authenticator, so a later one can still set the identity', async () => {
    // Two authenticators: the first knows nobody; the second (later in the chain) knows bob.
    const first: GatewayPlugin = {
      name: 'first',
      provides: ['authentication'],
      order: 100,
      middleware: () => (_c, n) => n(),
    };
    const url = await start([first, headerAuthenticator({ order: 300 })]);
    expect((await send(`${url}/private/x`, { headers: { 'x-test-user': 'bob' } })).status).toBe(200);
    expect((await send(`${url}/private/x`)).status).toBe(401);
  });

  it("applies to built-ins: the dashboard's default admin scope", async () => {
    const url = await start([headerAuthenticator()], { builtins: { ui: {} } });
    expect((await send(`${url}/ui/state.json`)).status).toBe(401);
    const plain = await send(`${url}/ui/state.json`, { headers: { 'x-test-user': 'bob' } });
    expect(plain.status).toBe(403);
    expect(plain.json()).toMatchObject({ detail: 'missing scope "admin"' });
    expect((await send(`${url}/ui/state.json`, { headers: { 'x-test-user': 'bob:admin' } })).status).toBe(
      200,
    );
  });

  it('applies to WebSocket upgrades: no identity, no tunnel', async () => {
    const handshakes: IncomingHttpHeaders[] = [];
    const wsServer = createServer();
    const wss = new WebSocketServer({ server: wsServer });
    wss.on('connection', (ws, req) => {
      handshakes.push(req.headers);
      ws.send('hi');
    });
    wsServer.listen(0, '127.0.0.1');
    await once(wsServer, 'listening');
    try {
      const target = `http://127.0.0.1:${(wsServer.address() as { port: number }).port}`;
      gw = await startGateway(
        {
          services: { ws: { targets: [target] } },
          routes: [{ prefix: '/ws', service: 'ws', websocket: true, scopes: ['chat'] }],
        },
        [headerAuthenticator()],
      );
      const wsUrl = `${gw.url.replace('http', 'ws')}/ws`;
      for (const [headers, status] of [
        [{}, 401],
        [{ 'x-test-user': 'bob' }, 403],
      ] as const) {
        const client = new WebSocket(wsUrl, { headers });
        const [, res] = await once(client, 'unexpected-response');
        expect(res.statusCode).toBe(status);
        const closed = new Promise((resolve) => client.on('close', resolve));
        client.on('error', () => {});
        client.terminate();
        await closed;
      }
      expect(handshakes).toHaveLength(0);
      const ok = new WebSocket(wsUrl, { headers: { 'x-test-user': 'bob:chat' } });
      const [greeting] = await once(ok, 'message');
      expect(String(greeting)).toBe('hi');
      ok.close();
      await once(ok, 'close');
      expect(handshakes).toHaveLength(1);
    } finally {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    }
  });
});
