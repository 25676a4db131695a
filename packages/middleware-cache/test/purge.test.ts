import type { GatewayPlugin, Route } from '@lucid/gateway-core';
import { send } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeTarget } from '../src/index.js';
import { type CachedGateway, cachedGateway, scriptedUpstream } from './support.js';

describe('purgeTarget', () => {
  it('takes exactly one of key and prefix, normalized as requests are', () => {
    expect(purgeTarget('?key=/nodes//list')).toEqual({ key: '/nodes/list' });
    expect(purgeTarget('?prefix=/nodes/./a/../')).toEqual({ prefix: '/nodes/' });
    for (const bad of [
      '',
      '?key=/a&prefix=/b',
      '?key=/a&key=/b',
      '?key=nodes',
      '?key=/a%252fb',
      '?key=/a?x=1',
    ]) {
      expect(() => purgeTarget(bad), bad).toThrow();
    }
  });
});

describe('purge through a mounted handler (memory store)', () => {
  let up: Awaited<ReturnType<typeof scriptedUpstream>>;
  let gw: CachedGateway;

  beforeAll(async () => {
    up = await scriptedUpstream({
      '/nodes/list': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `list ${n}` }),
      '/nodes/one': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `one ${n}` }),
      '/other': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `other ${n}` }),
    });
    // Until the gateway mounts plugin built-ins, a route of its own carries the handler here.
    let purge: ((ctx: never) => Promise<void>) | undefined;
    const mount: GatewayPlugin = {
      name: 'purge-mount (test)',
      middleware(route: Route) {
        if (route.id !== 'purge') return undefined;
        return async function purgeRoute(ctx) {
          await purge!(ctx as never);
        };
      },
    };
    gw = await cachedGateway(up, {
      plugins: [mount],
      routes: [
        { prefix: '/', service: 'api', auth: 'public', cache: true, stripPrefix: false },
        { prefix: '/cache', name: 'purge', service: 'api', auth: 'public' },
      ],
    });
    purge = gw.cache.purge as never;
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('DELETE ?key= drops one path with all its queries; ?prefix= everything under it', async () => {
    for (const p of ['/nodes/list', '/nodes/list?page=2', '/nodes/one', '/other'])
      await send(`${gw.url}${p}`);
    expect((await send(`${gw.url}/nodes/list?page=2`)).headers['cache-status']).toMatch(/hit/);
    const one = await send(`${gw.url}/cache?key=/nodes/list`, { method: 'DELETE' });
    expect(one.status).toBe(200);
    expect(one.json()).toEqual({ key: '/nodes/list', purged: 1 });
    expect((await send(`${gw.url}/nodes/list?page=2`)).text).toBe('list 3');
    expect((await send(`${gw.url}/nodes/one`)).headers['cache-status']).toMatch(/hit/);
    const all = await send(`${gw.url}/cache?prefix=/nodes/`, { method: 'DELETE' });
    expect(all.json()).toEqual({ prefix: '/nodes/', purged: 2 });
    expect((await send(`${gw.url}/nodes/one`)).text).toBe('one 2');
    expect((await send(`${gw.url}/other`)).headers['cache-status']).toMatch(/hit/);
  });

  it('refuses other methods and unclear targets', async () => {
    expect((await send(`${gw.url}/cache?key=/x`)).status).toBe(405);
    expect((await send(`${gw.url}/cache`, { method: 'DELETE' })).status).toBe(400);
  });

  it('the memory store survives a reload', async () => {
    await send(`${gw.url}/other`);
    await gw.gateway.reload(gw.gateway.config as never);
    expect((await send(`${gw.url}/other`)).headers['cache-status']).toMatch(/hit/);
  });
});
