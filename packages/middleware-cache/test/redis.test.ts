import type { ServerResponse } from 'node:http';
import { type RedisServer, send, startRedis, until } from '@lucid/test-kit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CachedGateway, cachedGateway, scriptedUpstream } from './support.js';

// Both instances are reached by one name, as behind a load balancer (the host is part of the key).
const get = (url: string) => send(url, { headers: { host: 'api.example' } });

const inFlight = async (gw: CachedGateway) => {
  const text = await gw.gateway.registry.getSingleMetricAsString('lucid_gateway_http_requests_in_flight');
  return Number(/ (\d+)\s*$/.exec(text)?.[1] ?? 0);
};

describe('the Redis store, shared by two gateways', () => {
  let redis: RedisServer;
  let admin: Redis;
  let up: Awaited<ReturnType<typeof scriptedUpstream>>;
  let a: CachedGateway;
  let b: CachedGateway;
  const held: ServerResponse[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
    up = await scriptedUpstream({
      '/slow': (_r, _n, res) => {
        held.push(res);
        return undefined;
      },
      '/shared': (_r, n) => ({
        headers: { 'cache-control': 'max-age=60', etag: '"s"' },
        body: `shared ${n}`,
      }),
      '/cut': (_r, n, res) => {
        if (n > 1) return { headers: { 'cache-control': 'max-age=60' }, body: 'whole' };
        res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': 100 });
        res.flushHeaders();
        res.write('only half of it', () => res.socket?.destroy());
        return undefined;
      },
      '/chunked-big': (_r, _n, res) => {
        res.writeHead(200, { 'cache-control': 'max-age=60' });
        for (let i = 0; i < 10; i++) res.write(Buffer.alloc(1000, 98));
        res.end();
        return undefined;
      },
      '/corrupt': (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `c ${n}` }),
    });
    const opts = {
      cache: { store: 'redis' as const, redis: { url: redis.url, commandTimeout: '300ms' }, maxEntry: '4kb' },
      server: { limits: { connections: 1000 } },
    };
    a = await cachedGateway(up, opts);
    b = await cachedGateway(up, opts);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    admin?.disconnect();
    await up?.close();
    await redis?.stop();
  });

  it('what one instance stored, the other serves', async () => {
    expect((await get(`${a.url}/api/shared`)).text).toBe('shared 1');
    const other = await get(`${b.url}/api/shared`);
    expect(other.text).toBe('shared 1');
    expect(other.headers['cache-status']).toMatch(/hit/);
    expect(up.hits('/shared')).toBe(1);
  });

  it('two instances, 50 concurrent misses each: one request upstream', async () => {
    const replies = [
      ...Array.from({ length: 50 }, () => get(`${a.url}/api/slow`)),
      ...Array.from({ length: 50 }, () => get(`${b.url}/api/slow`)),
    ];
    await until(
      () => inFlight(a),
      (n) => n >= 50,
    );
    await until(
      () => inFlight(b),
      (n) => n >= 50,
    );
    expect(up.hits('/slow')).toBe(1);
    held[0]!.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': 6 });
    held[0]!.end('latest');
    const all = await Promise.all(replies);
    expect(all.every((r) => r.status === 200 && r.text === 'latest')).toBe(true);
    expect(up.hits('/slow')).toBe(1);
  });

  it('a response cut mid-body is not stored', async () => {
    await expect(get(`${a.url}/api/cut`)).rejects.toThrow();
    expect((await get(`${a.url}/api/cut`)).text).toBe('whole');
    expect(up.hits('/cut')).toBe(2);
  });

  it('a chunked body larger than maxEntry streams through whole and is not stored', async () => {
    const r = await get(`${a.url}/api/chunked-big`);
    expect(r.body.length).toBe(10_000);
    await get(`${a.url}/api/chunked-big`);
    expect(up.hits('/chunked-big')).toBe(2);
    expect(await admin.exists('lucid:cache:{/api/chunked-big}')).toBe(0);
  });

  it('a corrupt entry is dropped and fetched again', async () => {
    await get(`${a.url}/api/corrupt`);
    const key = 'lucid:cache:{/api/corrupt}';
    for (const field of await admin.hkeys(key)) await admin.hset(key, field, 'garbage');
    const r = await get(`${a.url}/api/corrupt`);
    expect(r.status).toBe(200);
    expect(r.text).toBe('c 2');
    const m = await a.gateway.registry.getSingleMetricAsString('lucid_gateway_cache_store_errors_total');
    expect(m).toMatch(/kind="corrupt"\} [1-9]/);
    // The good answer replaced it.
    expect((await get(`${b.url}/api/corrupt`)).text).toBe('c 2');
  });

  it('purges one path (all variants) and a prefix', async () => {
    await get(`${a.url}/api/shared?x=1`);
    expect(await admin.exists('lucid:cache:{/api/shared}')).toBe(1);
    expect(await a.cache.store.purgePath('/api/shared')).toBe(1);
    expect(await admin.exists('lucid:cache:{/api/shared}')).toBe(0);
    await get(`${a.url}/api/shared`);
    await get(`${a.url}/api/corrupt`);
    expect(await a.cache.store.purgePrefix('/api/')).toBeGreaterThanOrEqual(2);
    expect(await admin.keys('lucid:cache:{/api/*')).toEqual([]);
  });

  it('a Redis that does not answer in time is bypassed, never waited on past its timeout', async () => {
    await get(`${a.url}/api/shared`);
    // Every client's commands wait (this one's too) until the pause ends.
    await admin.client('PAUSE', 3_000, 'ALL');
    const r = await get(`${a.url}/api/shared`);
    expect(r.status).toBe(200);
    expect(r.headers['cache-status']).toBe('lucid; fwd=bypass; detail=store-unavailable');
    await admin.ping();
  });

  it('Redis down: requests are served uncached, the outage logged once, and caching resumes', async () => {
    await redis.stop();
    for (let i = 0; i < 5; i++) {
      const r = await get(`${a.url}/api/shared`);
      expect(r.status).toBe(200);
      expect(r.headers['cache-status']).toContain('bypass');
    }
    const warned = a.logs.filter((l) => String(l.msg).startsWith('cache store failed'));
    expect(warned.length).toBe(1);
    await redis.start();
    await until(
      async () => (await get(`${a.url}/api/shared`)).headers['cache-status'] as string,
      (s) => !s.includes('bypass'),
    );
  });
});
