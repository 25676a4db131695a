import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import {
  type RedisServer,
  type RunningGateway,
  send,
  startGateway,
  startRedis,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RateLimitConfigInput, type RateLimitPlugin, type RedisStore, rateLimit } from '../src/index.js';
import { metric, sendMany, statuses } from './support.js';

let upstream: Upstream;
const gateways: RunningGateway[] = [];
const servers: RedisServer[] = [];

// Tests of exact counting get a generous command timeout, so a busy test machine cannot turn a slow
// answer into a store error; the timeout itself is tested on its own below.
async function startLimited(redisUrl: string, options: RateLimitConfigInput = {}) {
  const plugin = rateLimit({ store: 'redis', redis: { url: redisUrl, commandTimeout: '2s' }, ...options });
  const gw = await startGateway(
    { services: { api: { targets: [upstream.url] } }, routes: [{ prefix: '/api', service: 'api' }] },
    [plugin],
  );
  gateways.push(gw);
  return { gw, plugin };
}

async function freshRedis() {
  const server = await startRedis();
  servers.push(server);
  return server;
}

async function reconnected(plugin: RateLimitPlugin) {
  const { client } = plugin.store as RedisStore;
  if (client.status !== 'ready') await once(client, 'ready');
}

const seen = (path: string) => upstream.seen.filter((s) => s.url.startsWith(path)).length;

beforeAll(async () => {
  upstream = await startUpstream();
});
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  upstream.seen.length = 0;
});
afterAll(async () => {
  await upstream.close();
});

describe('three gateway instances sharing one Redis', () => {
  let redis: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
  });
  afterEach(async () => {
    await admin.flushall();
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });

  it('admit exactly `limit` between them, and the upstream sees only those', async () => {
    const three = await Promise.all(
      [1, 2, 3].map(() => startLimited(redis.url, { tiers: { free: '30/hour' } })),
    );
    const replies = await sendMany(
      (i) => `${three[i % 3]!.gw.url}/api/shared`,
      60,
      () => ({}),
      60,
    );
    expect(statuses(replies)).toEqual({ 200: 30, 429: 30 });
    expect(seen('/shared')).toBe(30);
    // Each instance counted its own refusals; together they are the 30.
    const rejected = await Promise.all(
      three.map(async ({ gw }) =>
        metric((await send(`${gw.url}/metrics`)).text, 'lucid_gateway_ratelimit_rejected_total', {
          tier: 'free',
        }),
      ),
    );
    expect(rejected.reduce((a, b) => a + b, 0)).toBe(30);
  });

  it('writes every key with a TTL', async () => {
    const { gw } = await startLimited(redis.url, { keyBy: 'ip', perRoute: true, tiers: { free: '10/min' } });
    await sendMany(`${gw.url}/api/ttl`, 15);
    const keys = await admin.keys('lucid:rl:*');
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(await admin.pttl(key)).toBeGreaterThan(0);
    expect(keys).toContain('lucid:rl:r:/api:{ip:127.0.0.1}');
  });

  it('keeps limiting after SCRIPT FLUSH', async () => {
    const { gw } = await startLimited(redis.url, { keyBy: 'ip', perRoute: true, tiers: { free: '6/hour' } });
    expect(statuses(await sendMany(`${gw.url}/api/flush`, 3, () => ({}), 1))).toEqual({ 200: 3 });
    await admin.script('FLUSH');
    expect(statuses(await sendMany(`${gw.url}/api/flush`, 5, () => ({}), 1))).toEqual({ 200: 3, 429: 2 });
  });

  it('reports Redis in /health', async () => {
    const { gw } = await startLimited(redis.url);
    expect((await gw.gateway.health()).components?.['rate-limit']).toMatchObject({
      healthy: true,
      detail: { store: 'redis', status: 'ready' },
    });
  });
});

describe('Redis stopped mid-test', () => {
  /** Sends `n` requests one by one, timing each. */
  async function timed(url: string, n: number) {
    const replies = [];
    let slowest = 0;
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      replies.push(await send(url));
      slowest = Math.max(slowest, performance.now() - started);
    }
    return { replies, slowest: Math.round(slowest) };
  }

  it('onStoreError: open, fallback: none lets requests through, counting store errors', async ({
    annotate,
  }) => {
    const redis = await freshRedis();
    const { gw, plugin } = await startLimited(redis.url, {
      tiers: { free: '3/hour' },
      onStoreError: 'open',
      fallback: 'none',
    });
    expect(statuses(await sendMany(`${gw.url}/api/open`, 4, () => ({}), 1))).toEqual({ 200: 3, 429: 1 });
    await redis.stop();
    const { replies, slowest } = await timed(`${gw.url}/api/open`, 10);
    await annotate(`open/none: slowest of 10 requests with Redis stopped: ${slowest} ms`);
    expect(statuses(replies)).toEqual({ 200: 10 });
    expect(replies[0]!.headers.ratelimit).toBeUndefined();
    expect(seen('/open')).toBe(13);
    const text = (await send(`${gw.url}/metrics`)).text;
    expect(metric(text, 'lucid_gateway_ratelimit_store_errors_total', { store: 'redis' })).toBe(10);
    expect((await gw.gateway.health()).components?.['rate-limit']?.healthy).toBe(false);

    await redis.start();
    await reconnected(plugin);
    // The restarted Redis is empty: a fresh budget, counted in Redis again.
    expect(statuses(await sendMany(`${gw.url}/api/open`, 4, () => ({}), 1))).toEqual({ 200: 3, 429: 1 });
  });

  it('onStoreError: open, fallback: memory limits in process while Redis is down', async ({ annotate }) => {
    const redis = await freshRedis();
    const { gw } = await startLimited(redis.url, { tiers: { free: '3/hour' } });
    expect(statuses(await sendMany(`${gw.url}/api/fb`, 4, () => ({}), 1))).toEqual({ 200: 3, 429: 1 });
    await redis.stop();
    const { replies, slowest } = await timed(`${gw.url}/api/fb`, 5);
    await annotate(`open/memory: slowest of 5 requests with Redis stopped: ${slowest} ms`);
    expect(statuses(replies)).toEqual({ 200: 3, 429: 2 });
    expect(replies[0]!.headers.ratelimit).toBe('"free";r=2;t=1200');
    expect(seen('/fb')).toBe(6);
  });

  it('onStoreError: closed refuses with 503 and nothing reaches the upstream', async ({ annotate }) => {
    const redis = await freshRedis();
    const { gw } = await startLimited(redis.url, { tiers: { free: '3/hour' }, onStoreError: 'closed' });
    expect(statuses(await sendMany(`${gw.url}/api/closed`, 2, () => ({}), 1))).toEqual({ 200: 2 });
    await redis.stop();
    const { replies, slowest } = await timed(`${gw.url}/api/closed`, 10);
    await annotate(`closed: slowest of 10 requests with Redis stopped: ${slowest} ms`);
    expect(statuses(replies)).toEqual({ 503: 10 });
    expect(replies[0]!.headers['retry-after']).toBe('1');
    expect(replies[0]!.json()).toMatchObject({
      code: 'GW_RATE_LIMIT_UNAVAILABLE',
      detail: 'rate limiting is unavailable',
    });
    expect(seen('/closed')).toBe(2);
  });

  it('a Redis that stops answering costs each request one command timeout, not a hang', async ({
    annotate,
  }) => {
    const redis = await freshRedis();
    const { gw } = await startLimited(redis.url, {
      redis: { url: redis.url, commandTimeout: '50ms' },
      tiers: { free: '3/hour' },
      onStoreError: 'closed',
    });
    const admin = new Redis(redis.url);
    const probe = new Redis(redis.url, { commandTimeout: 200, maxRetriesPerRequest: 0 });
    try {
      expect((await send(`${gw.url}/api/hung`)).status).toBe(200);
      // Scripts block in WRITE pause; the connection stays open, so only the timeout can answer.
      await admin.client('PAUSE', 30_000, 'WRITE');
      const { replies, slowest } = await timed(`${gw.url}/api/hung`, 5);
      await annotate(`hung Redis, commandTimeout 50ms: slowest of 5 requests: ${slowest} ms`);
      expect(statuses(replies)).toEqual({ 503: 5 });
      // Every answer came while Redis was still stuck: a write still times out now.
      await expect(probe.set('probe', '1')).rejects.toThrow(/timed out/i);
    } finally {
      await admin.client('UNPAUSE');
      admin.disconnect();
      probe.disconnect();
    }
  });

  it('starts while Redis is down, follows onStoreError, and limits once Redis is up', async () => {
    const redis = await freshRedis();
    await redis.stop();
    const { gw, plugin } = await startLimited(redis.url, { tiers: { free: '2/hour' }, fallback: 'none' });
    expect(statuses(await sendMany(`${gw.url}/api/late`, 3, () => ({}), 1))).toEqual({ 200: 3 });
    await redis.start();
    await reconnected(plugin);
    expect(statuses(await sendMany(`${gw.url}/api/late`, 3, () => ({}), 1))).toEqual({ 200: 2, 429: 1 });
  });
});
