import { send, startGateway } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeTarget, responseCache } from '../src/index.js';
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

describe('the /cache built-in (memory store)', () => {
  let up: Awaited<ReturnType<typeof scriptedUpstream>>;
  let gw: CachedGateway;

  beforeAll(async () => {
    up = await scriptedUpstream({
      '/nodes/list': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `list ${n}` }),
      '/nodes/one': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `one ${n}` }),
      '/other': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `other ${n}` }),
    });
    gw = await cachedGateway(up, {
      routes: [{ prefix: '/', service: 'api', auth: 'public', cache: true, stripPrefix: false }],
      extra: { builtins: { cache: true } },
    });
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

  it('fails closed: without a plugin that authenticates, a purge is refused (401) unless the config says public', async () => {
    const config = {
      services: { api: { targets: [up.url] } },
      routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
      cache: {},
    };
    const closed = await startGateway({ ...config, builtins: { cache: true } }, [responseCache()], {
      failClosed: true,
    });
    const open = await startGateway(
      { ...config, builtins: { cache: { auth: 'public' } } },
      [responseCache()],
      {
        failClosed: true,
      },
    );
    const off = await startGateway(config, [responseCache()], { failClosed: true });
    try {
      expect((await send(`${closed.url}/cache?key=/api/x`, { method: 'DELETE' })).status).toBe(401);
      expect((await send(`${open.url}/cache?key=/api/x`, { method: 'DELETE' })).status).toBe(200);
      expect((await send(`${off.url}/cache?key=/api/x`, { method: 'DELETE' })).status).toBe(404);
    } finally {
      await Promise.all([closed.close(), open.close(), off.close()]);
    }
  });

  it('refuses an unclear target', async () => {
    expect((await send(`${gw.url}/cache`, { method: 'DELETE' })).status).toBe(400);
  });

  it('the dashboard shows a cache column and the results by kind', async () => {
    const ui = await startGateway(
      {
        services: { api: { targets: [up.url] } },
        routes: [
          { prefix: '/a', service: 'api', auth: 'public', cache: { ttl: '30s', perUser: true } },
          { prefix: '/b', service: 'api', auth: 'public' },
        ],
        cache: {},
        builtins: { ui: { auth: 'public' } },
      },
      [responseCache()],
    );
    try {
      const state = (await send(`${ui.url}/ui/state.json`)).json<{
        routes: Array<Record<string, unknown>>;
        columns?: unknown;
      }>();
      const byId = Object.fromEntries(state.routes.map((r) => [r.id, r]));
      expect(byId['/a']!.cache).toBe('ttl 30s, per user');
      expect(byId['/b']!.cache).toBe('off');
    } finally {
      await ui.close();
    }
  });

  it('the memory store survives a reload', async () => {
    await send(`${gw.url}/other`);
    await gw.gateway.reload(gw.gateway.config as never);
    expect((await send(`${gw.url}/other`)).headers['cache-status']).toMatch(/hit/);
  });
});
