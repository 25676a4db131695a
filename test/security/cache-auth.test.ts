import { jwtAuth } from '@lucid/middleware-auth';
import { responseCache } from '@lucid/middleware-cache';
import { rateLimit } from '@lucid/middleware-ratelimit';
import { type RunningGateway, send, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, hs256 } from './support/token.js';

// The cache runs after authentication and the rate limit: a stored answer is never a way around them.
describe('a cached answer never skips auth or the rate limit', () => {
  let up: Upstream;
  let gw: RunningGateway;

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      const body = JSON.stringify({ url: req.url, user: req.headers['x-user-id'] ?? null });
      // `/…/own…` answers are for the caller only in spirit: no `public`, so never shared (RFC 9111 §3.5).
      const cc = req.url?.includes('/own') ? 'max-age=60' : 'public, max-age=60';
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': cc });
      res.end(body);
    });
    gw = await startGateway(
      {
        services: { api: { targets: [up.url] } },
        routes: [
          { prefix: '/shared', service: 'api', cache: true },
          { prefix: '/admin', service: 'api', scopes: ['admin'], cache: true },
          { prefix: '/mine', service: 'api', cache: { perUser: true } },
          { prefix: '/limited', service: 'api', cache: true, rateLimit: '2/min' },
        ],
        auth: AUTH,
        rateLimit: {},
        cache: {},
        builtins: { cache: true },
      },
      [jwtAuth(AUTH), rateLimit({}), responseCache({})],
    );
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  const as = (sub: string, scope = '') => ({ authorization: `Bearer ${hs256({ sub, scope })}` });

  it('a stored answer still needs a valid token', async () => {
    expect((await send(`${gw.url}/shared/x`, { headers: as('alice') })).status).toBe(200);
    const again = await send(`${gw.url}/shared/x`, { headers: as('bob') });
    expect(again.headers['cache-status']).toMatch(/hit/);
    expect((await send(`${gw.url}/shared/x`)).status).toBe(401);
    expect((await send(`${gw.url}/shared/x`, { headers: { authorization: 'Bearer nope' } })).status).toBe(
      401,
    );
  });

  it('a stored answer still needs the route scope', async () => {
    expect((await send(`${gw.url}/admin/panel`, { headers: as('root', 'admin') })).status).toBe(200);
    expect(
      (await send(`${gw.url}/admin/panel`, { headers: as('root', 'admin') })).headers['cache-status'],
    ).toMatch(/hit/);
    expect((await send(`${gw.url}/admin/panel`, { headers: as('eve') })).status).toBe(403);
  });

  it('hits are counted by the rate limit like any request', async () => {
    const h = as('carol');
    expect((await send(`${gw.url}/limited/a`, { headers: h })).status).toBe(200);
    const second = await send(`${gw.url}/limited/a`, { headers: h });
    expect(second.headers['cache-status']).toMatch(/hit/);
    expect(second.headers['ratelimit-policy'] ?? second.headers['x-ratelimit-limit']).toBeDefined();
    expect((await send(`${gw.url}/limited/a`, { headers: h })).status).toBe(429);
  });

  it('an answer to a credentialed request without public is not shared', async () => {
    await send(`${gw.url}/shared/own`, { headers: as('alice') });
    const bob = await send(`${gw.url}/shared/own`, { headers: as('bob') });
    expect(bob.headers['cache-status']).not.toMatch(/hit|stored/);
  });

  it('perUser keeps each user apart, and stores their own answers', async () => {
    await send(`${gw.url}/mine/own`, { headers: as('alice') });
    expect((await send(`${gw.url}/mine/own`, { headers: as('bob') })).headers['cache-status']).not.toMatch(
      /hit/,
    );
    expect((await send(`${gw.url}/mine/own`, { headers: as('alice') })).headers['cache-status']).toMatch(
      /hit/,
    );
  });

  it('/cache purges only with the admin scope', async () => {
    await send(`${gw.url}/shared/p`, { headers: as('alice') });
    expect((await send(`${gw.url}/cache?key=/shared/p`, { method: 'DELETE' })).status).toBe(401);
    expect(
      (await send(`${gw.url}/cache?key=/shared/p`, { method: 'DELETE', headers: as('eve') })).status,
    ).toBe(403);
    const ok = await send(`${gw.url}/cache?key=/shared/p`, {
      method: 'DELETE',
      headers: as('root', 'admin'),
    });
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({ key: '/shared/p', purged: 1 });
  });

  it('perUser keeps each user apart', async () => {
    await send(`${gw.url}/mine/profile`, { headers: as('alice') });
    const bob = await send(`${gw.url}/mine/profile`, { headers: as('bob') });
    expect(bob.headers['cache-status']).not.toMatch(/hit/);
    const alice = await send(`${gw.url}/mine/profile`, { headers: as('alice') });
    expect(alice.headers['cache-status']).toMatch(/hit/);
  });
});
