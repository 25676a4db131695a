import type { GatewayPlugin } from '@lucid/gateway-core';
import { type RunningGateway, send, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { preAuthLimit, rateLimit, rateLimitPlugins } from '../src/index.js';
import { metric, sendMany, statuses, testIdentity } from './support.js';

describe('rate limiting through the gateway (memory store)', () => {
  let upstream: Upstream;
  const gateways: RunningGateway[] = [];
  const start = async (config: Record<string, unknown>, plugins: GatewayPlugin[]) => {
    const gw = await startGateway(
      {
        services: { api: { targets: [upstream.url] } },
        routes: [{ prefix: '/api', service: 'api' }],
        ...config,
      },
      plugins,
    );
    gateways.push(gw);
    return gw;
  };
  const seen = (prefix: string) => upstream.seen.filter((s) => s.url.startsWith(prefix)).length;

  beforeAll(async () => {
    upstream = await startUpstream();
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close()));
    upstream.seen.length = 0;
  });
  afterAll(async () => {
    await upstream.close();
  });

  it('admits exactly `limit` of limit+N concurrent requests; the rest get 429 and never reach the upstream', async () => {
    const gw = await start({}, [rateLimit({ tiers: { free: '20/hour' } })]);
    const replies = await sendMany(`${gw.url}/api/x`, 35, () => ({}), 35);
    expect(statuses(replies)).toEqual({ 200: 20, 429: 15 });
    expect(seen('/x')).toBe(20);

    const ok = replies.find((r) => r.status === 200)!;
    expect(ok.headers['ratelimit-policy']).toBe('"free";q=20;w=3600');
    expect(ok.headers.ratelimit).toMatch(/^"free";r=\d+;t=\d+$/);
    expect(ok.headers['x-ratelimit-limit']).toBe('20');
    expect(Number(ok.headers['x-ratelimit-remaining'])).toBeLessThan(20);
    expect(Number(ok.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);

    const limited = replies.find((r) => r.status === 429)!;
    expect(limited.headers['content-type']).toBe('application/problem+json');
    expect(limited.json()).toMatchObject({ status: 429, code: 'GW_RATE_LIMITED' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.json().retryAfter).toBe(Number(limited.headers['retry-after']));
    expect(limited.headers.ratelimit).toMatch(/^"free";r=0;t=\d+$/);
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');

    const metrics = await send(`${gw.url}/metrics`);
    expect(
      metric(metrics.text, 'lucid_gateway_ratelimit_rejected_total', { route: '/api', tier: 'free' }),
    ).toBe(15);
  });

  it('gives a premium token 1000/min, while a forged tier header gets the free tier', async () => {
    const gw = await start({}, [testIdentity, rateLimit({})]); // the seed's default tiers
    const premium = await sendMany(`${gw.url}/api/p`, 1_000, () => ({ 'x-test-verified': 'alice:premium' }));
    expect(statuses(premium)).toEqual({ 200: 1_000 });
    expect(premium[0]!.headers['ratelimit-policy']).toBe('"premium";q=1000;w=60');

    const forged = await sendMany(`${gw.url}/api/f`, 150, () => ({
      'x-tier': 'premium',
      'x-ratelimit-tier': 'premium',
      'x-user-tier': 'premium',
    }));
    expect(forged[0]!.headers['ratelimit-policy']).toBe('"free";q=100;w=60');
    // 100 at once, plus at most what refilled (one per 600 ms) while the burst ran.
    expect(statuses(forged)[429]).toBeGreaterThan(0);
    expect(statuses(forged)[200]).toBeLessThan(150);

    // A verified user whose tier is not configured falls back to the default tier.
    const unknownTier = await send(`${gw.url}/api/u`, { headers: { 'x-test-verified': 'bob:platinum' } });
    expect(unknownTier.headers['ratelimit-policy']).toBe('"free";q=100;w=60');
  });

  it('counts each verified user apart, and unauthenticated clients by ip', async () => {
    const gw = await start({}, [testIdentity, rateLimit({ tiers: { free: '3/hour' } })]);
    const as = (sub: string) => sendMany(`${gw.url}/api/u`, 5, () => ({ 'x-test-verified': `${sub}:free` }));
    expect(statuses(await as('alice'))).toEqual({ 200: 3, 429: 2 });
    expect(statuses(await as('bob'))).toEqual({ 200: 3, 429: 2 });
    expect(statuses(await sendMany(`${gw.url}/api/u`, 5))).toEqual({ 200: 3, 429: 2 });
  });

  it('does not let a spoofed X-Forwarded-For from an untrusted client change the key', async () => {
    const gw = await start({}, [rateLimit({ keyBy: 'ip', tiers: { free: '5/hour' } })]);
    const replies = await sendMany(`${gw.url}/api/xff`, 12, (i) => ({
      'x-forwarded-for': `198.51.100.${i + 1}`,
    }));
    expect(statuses(replies)).toEqual({ 200: 5, 429: 7 });
  });

  it('keys by a trusted proxy’s X-Forwarded-For, grouping IPv6 by /64', async () => {
    const gw = await start({ server: { trustProxy: ['127.0.0.1/32'] } }, [
      rateLimit({ keyBy: 'ip', tiers: { free: '2/hour' } }),
    ]);
    const from = (ip: string) => sendMany(`${gw.url}/api/v6`, 3, () => ({ 'x-forwarded-for': ip }), 1);
    expect(statuses(await from('203.0.113.7'))).toEqual({ 200: 2, 429: 1 });
    expect(statuses(await from('203.0.113.8'))).toEqual({ 200: 2, 429: 1 });
    // Same /64, different interface ids: one budget.
    expect(statuses(await from('2001:db8:1:2::1'))).toEqual({ 200: 2, 429: 1 });
    expect(statuses(await from('2001:db8:1:2:ffff:ffff:ffff:ffff'))).toEqual({ 429: 3 });
    expect(statuses(await from('2001:db8:1:3::1'))).toEqual({ 200: 2, 429: 1 });
  });

  it('keys by a configured header (hashed), else by ip', async () => {
    const gw = await start({}, [rateLimit({ keyBy: { header: 'x-api-key' }, tiers: { free: '2/hour' } })]);
    const withKey = (key: string) => sendMany(`${gw.url}/api/k`, 3, () => ({ 'x-api-key': key }), 1);
    expect(statuses(await withKey('key-one'))).toEqual({ 200: 2, 429: 1 });
    expect(statuses(await withKey('key-two'))).toEqual({ 200: 2, 429: 1 });
    expect(statuses(await sendMany(`${gw.url}/api/k`, 3, () => ({}), 1))).toEqual({ 200: 2, 429: 1 });
  });

  it('shares one budget across routes, unless perRoute or the route sets its own rate', async () => {
    const routes = [
      { prefix: '/a', service: 'api' },
      { prefix: '/b', service: 'api' },
      { prefix: '/c', service: 'api', rateLimit: '4/hour' },
      { prefix: '/d', service: 'api', rateLimit: { premium: '6/hour' } },
    ];
    const shared = await start({ routes }, [
      testIdentity,
      rateLimit({ tiers: { free: '2/hour', premium: '3/hour' } }),
    ]);
    expect(statuses(await sendMany(`${shared.url}/a`, 1, () => ({}), 1))).toEqual({ 200: 1 });
    expect(statuses(await sendMany(`${shared.url}/b`, 2, () => ({}), 1))).toEqual({ 200: 1, 429: 1 });
    const own = await sendMany(`${shared.url}/c`, 5, () => ({}), 1);
    expect(statuses(own)).toEqual({ 200: 4, 429: 1 });
    expect(own[0]!.headers['ratelimit-policy']).toBe('"free";q=4;w=3600');
    const premium = await sendMany(`${shared.url}/d`, 7, () => ({ 'x-test-verified': 'carol:premium' }), 1);
    expect(statuses(premium)).toEqual({ 200: 6, 429: 1 });
    // Free users on /d keep the free tier's rate, in /d's own budget.
    expect(statuses(await sendMany(`${shared.url}/d`, 3, () => ({}), 1))).toEqual({ 200: 2, 429: 1 });

    const perRoute = await start({ routes }, [
      rateLimit({ tiers: { free: '2/hour', premium: '3/hour' }, perRoute: true }),
    ]);
    expect(statuses(await sendMany(`${perRoute.url}/a`, 3, () => ({}), 1))).toEqual({ 200: 2, 429: 1 });
    expect(statuses(await sendMany(`${perRoute.url}/b`, 3, () => ({}), 1))).toEqual({ 200: 2, 429: 1 });
  });

  it('leaves routes with rateLimit: false and the built-ins alone', async () => {
    const gw = await start({ routes: [{ prefix: '/open', service: 'api', rateLimit: false }] }, [
      rateLimit({ tiers: { free: '1/hour' } }),
    ]);
    const open = await sendMany(`${gw.url}/open/x`, 5);
    expect(statuses(open)).toEqual({ 200: 5 });
    expect(open[0]!.headers.ratelimit).toBeUndefined();
    const health = await sendMany(`${gw.url}/health`, 3);
    expect(health.every((r) => r.status !== 429 && r.headers.ratelimit === undefined)).toBe(true);
    expect((await gw.gateway.health()).components?.['rate-limit']).toMatchObject({ healthy: true });
  });

  it('refuses per ip before authentication runs, so a flood of bad tokens costs nothing', async () => {
    let verifications = 0;
    const expensiveAuth: GatewayPlugin = {
      name: 'expensive-auth',
      order: 100,
      middleware: () =>
        async function expensiveAuth(_ctx, next) {
          verifications++;
          return next();
        },
    };
    const gw = await start({}, [
      expensiveAuth,
      ...rateLimitPlugins({ preAuth: '10/hour', tiers: { free: '100/hour' } }),
    ]);
    const replies = await sendMany(`${gw.url}/api/flood`, 25, () => ({ authorization: 'Bearer garbage' }));
    expect(statuses(replies)).toEqual({ 200: 10, 429: 15 });
    expect(verifications).toBe(10);
    expect(replies.find((r) => r.status === 429)!.headers['retry-after']).toBeDefined();
    const metrics = await send(`${gw.url}/metrics`);
    expect(metric(metrics.text, 'lucid_gateway_ratelimit_rejected_total', { limiter: 'pre-auth' })).toBe(15);
    expect(preAuthLimit({ rate: '1/s' }).order).toBeLessThan(expensiveAuth.order!);
  });
});
