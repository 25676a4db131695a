import { send, until } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CachedGateway, cachedGateway, scriptedUpstream } from './support.js';

// Answers arrive already stale (Age past max-age), so no test waits for time to pass.
describe.each(['undici', 'http-proxy'] as const)('stale answers, RFC 5861 (%s engine)', (engine) => {
  let up: Awaited<ReturnType<typeof scriptedUpstream>>;
  let gw: CachedGateway;

  beforeAll(async () => {
    up = await scriptedUpstream({
      '/swr': (_r, n) => ({
        headers: { 'cache-control': 'max-age=10, stale-while-revalidate=60', age: '20' },
        body: `swr ${n}`,
      }),
      '/route-swr': (_r, n) => ({ headers: { 'cache-control': 'max-age=10', age: '20' }, body: `rs ${n}` }),
      '/sie': (_r, n) =>
        n === 1
          ? { headers: { 'cache-control': 'max-age=10, stale-if-error=60', age: '20' }, body: 'sie 1' }
          : { status: 500, body: 'broken' },
      '/sie-reset': (_r, n, res) => {
        if (n === 1)
          return { headers: { 'cache-control': 'max-age=10, stale-if-error=60', age: '20' }, body: 'sr 1' };
        res.socket?.destroy();
        return undefined;
      },
      '/sie-strict': (_r, n) =>
        n === 1
          ? {
              headers: { 'cache-control': 'max-age=10, stale-if-error=60, must-revalidate', age: '20' },
              body: 'ss 1',
            }
          : { status: 500, body: 'broken' },
      '/stale-miss': (_r, n) => ({ headers: { 'cache-control': 'max-age=10', age: '20' }, body: `sm ${n}` }),
    });
    gw = await cachedGateway(up, {
      server: { engine },
      routes: [
        { prefix: '/api', service: 'api', auth: 'public', cache: true },
        { prefix: '/swr-route', service: 'api', auth: 'public', cache: { staleWhileRevalidate: '60s' } },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('stale-while-revalidate: serves the stale answer at once and refreshes it with one fetch', async () => {
    expect((await send(`${gw.url}/api/swr`)).text).toBe('swr 1');
    const b = await send(`${gw.url}/api/swr`);
    expect(b.text).toBe('swr 1');
    expect(b.headers['cache-status']).toBe('lucid; hit; detail=stale-while-revalidate');
    await until(
      async () => up.hits('/swr'),
      (n) => n === 2,
    );
    await until(
      async () => (await send(`${gw.url}/api/swr`)).text,
      (t) => t === 'swr 2',
    );
  });

  it("the route's staleWhileRevalidate applies when the upstream says nothing of it", async () => {
    await send(`${gw.url}/swr-route/route-swr`);
    const b = await send(`${gw.url}/swr-route/route-swr`);
    expect(b.text).toBe('rs 1');
    expect(b.headers['cache-status']).toContain('stale-while-revalidate');
    // And clients see the upstream's Cache-Control, not the route's addition.
    expect(b.headers['cache-control']).toBe('max-age=10');
  });

  it('a stale answer without SWR is fetched again before answering', async () => {
    await send(`${gw.url}/api/stale-miss`);
    expect((await send(`${gw.url}/api/stale-miss`)).text).toBe('sm 2');
  });

  it('stale-if-error: a 5xx from the upstream is answered with the stale entry', async () => {
    expect((await send(`${gw.url}/api/sie`)).text).toBe('sie 1');
    const b = await send(`${gw.url}/api/sie`);
    expect(b.status).toBe(200);
    expect(b.text).toBe('sie 1');
    expect(b.headers['cache-status']).toBe('lucid; fwd=stale; fwd-status=500; detail=stale-if-error');
  });

  it('stale-if-error: an unreachable upstream (connection reset) is answered with the stale entry', async () => {
    await send(`${gw.url}/api/sie-reset`);
    const b = await send(`${gw.url}/api/sie-reset`);
    expect(b.status).toBe(200);
    expect(b.text).toBe('sr 1');
    expect(b.headers['cache-status']).toContain('stale-if-error');
  });

  it('must-revalidate forbids serving stale on error', async () => {
    await send(`${gw.url}/api/sie-strict`);
    expect((await send(`${gw.url}/api/sie-strict`)).status).toBe(500);
  });
});
