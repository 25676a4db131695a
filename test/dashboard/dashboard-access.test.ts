import type { GatewayPlugin } from '@lucid/gateway-core';
import { jwtAuth } from '@lucid/middleware-auth';
import { rateLimit } from '@lucid/middleware-ratelimit';
import { type RunningGateway, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { launchChromium } from '@lucid/test-kit/browser';
import { afterEach, describe, expect, it } from 'vitest';
import { AUTH, hs256, SECRET } from '../security/support/token.js';

const PATHS = ['/ui/', '/ui/state.json', '/ui/app.js', '/ui/app.css'];

describe('who may see the dashboard', () => {
  let upstream: Upstream | undefined;
  let gw: RunningGateway | undefined;

  afterEach(async () => {
    await gw?.close();
    await upstream?.close();
    gw = undefined;
    upstream = undefined;
  });

  async function start(ui: unknown, plugins: GatewayPlugin[], extra: Record<string, unknown> = {}) {
    upstream = await startUpstream();
    gw = await startGateway(
      {
        logging: { level: 'silent', pretty: false, accessLog: false },
        server: { trustProxy: ['127.0.0.1'] },
        ...(ui !== undefined && { builtins: { ui } }),
        services: { api: { targets: [upstream.url], health: false } },
        routes: [{ prefix: '/api', service: 'api' }],
        ...extra,
      },
      plugins,
    );
    return gw;
  }

  const get = (path: string, token?: string) =>
    fetch(gw!.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('is off unless the config turns it on', async () => {
    await start(undefined, []);
    expect((await get('/ui/')).status).toBe(404);
    expect((await get('/ui/state.json')).status).toBe(404);
  });

  it('with the auth plugin, wants a token with the admin scope for the page, its assets and its JSON', async () => {
    await start(true, [jwtAuth(AUTH)]);
    for (const path of PATHS) {
      const none = await get(path);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate'), path).toMatch(/^Bearer/);
      expect((await get(path, hs256({ sub: 'u1', scope: 'read write' }))).status, path).toBe(403);
      expect((await get(path, hs256({ sub: 'u1', scope: 'admin:read' }))).status, path).toBe(403);
      expect((await get(path, hs256({ sub: 'u1', exp: 1 }))).status, path).toBe(401);
      expect((await get(path, hs256({ sub: 'u1', scope: 'read admin' }))).status, path).toBe(200);
    }
    // A signature made with another key is no token at all.
    const forged = `${hs256({ sub: 'u1', scope: 'admin' }).slice(0, -4)}AAAA`;
    expect((await get('/ui/state.json', forged)).status).toBe(401);
  });

  it('takes the scopes and policy the config gives instead of the default', async () => {
    await start({ path: '/ops/board', scopes: ['ops'] }, [jwtAuth(AUTH)]);
    expect((await get('/ops/board/state.json', hs256({ sub: 'u', scope: 'admin' }))).status).toBe(403);
    expect((await get('/ops/board/state.json', hs256({ sub: 'u', scope: 'ops' }))).status).toBe(200);
    expect((await get('/ui/state.json', hs256({ sub: 'u', scope: 'ops' }))).status).toBe(404);
  });

  it('is public when the config says so, even with the auth plugin', async () => {
    await start({ auth: 'public' }, [jwtAuth(AUTH)]);
    expect((await get('/ui/state.json')).status).toBe(200);
  });

  it('is public without an authentication plugin (turning it on is the operator’s choice)', async () => {
    await start(true, []);
    expect((await get('/ui/state.json')).status).toBe(200);
  });

  it('shows rate-limit rejections per tier, and never a token, a secret or a client address', async () => {
    await start(true, [
      jwtAuth(AUTH),
      rateLimit({ tiers: { free: '2/min', gold: '1000/min' }, defaultTier: 'free' }),
    ]);
    const user = hs256({ sub: 'user-1', scope: 'read' });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${gw!.url}/api/x`, {
        headers: { authorization: `Bearer ${user}`, 'x-forwarded-for': '203.0.113.77' },
      });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 429, 429]);
    const admin = hs256({ sub: 'admin-1', scope: 'admin' });
    const res = await get('/ui/state.json', admin);
    const text = await res.text();
    const state = JSON.parse(text);
    expect(state.plugins['rate-limit']).toEqual({ rejectedByTier: { free: 2, gold: 0 } });
    expect(state.routes[0]).toMatchObject({ prefix: '/api', auth: 'required', rateLimit: 'default' });
    expect(state.components.auth.healthy).toBe(true);
    for (const secret of [user, admin, SECRET, '203.0.113.77', 'user-1', 'admin-1']) {
      expect(text).not.toContain(secret);
    }
  });

  it('works in a browser that sends the token (a proxy or an extension that adds it)', async () => {
    await start(true, [jwtAuth(AUTH)]);
    const anonymous = await launchChromium();
    try {
      const page = await anonymous.context.newPage();
      const res = await page.goto(`${gw!.url}/ui/`);
      expect(res?.status()).toBe(401);
    } finally {
      await anonymous.close();
    }
    const admin = await launchChromium({
      extraHTTPHeaders: { authorization: `Bearer ${hs256({ sub: 'a', scope: 'admin' })}` },
    });
    try {
      const page = await admin.context.newPage();
      await page.goto(`${gw!.url}/ui/`);
      await page.waitForSelector('tr[data-route="/api"]');
      expect(await page.textContent('tr[data-route="/api"] .auth')).toBe('required');
    } finally {
      await admin.close();
    }
  });
});
