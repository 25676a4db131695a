import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { type RateLimitConfigInput, type RedisStore, rateLimit } from '@lucid/middleware-ratelimit';
import {
  type RedisServer,
  type Reply,
  type RunningGateway,
  send,
  startGateway,
  startRedis,
  startUpstream,
  type Upstream,
  until,
} from '@lucid/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/**
 * The rate limiter's Redis stopped, stuck or flushed of its scripts while many requests arrive at
 * once: nothing hangs, nothing turns into a 500, the configured failure mode holds, and admission
 * stays exact whenever Redis answers.
 */

const run = promisify(execFile);
const cli = (redis: RedisServer, ...args: string[]) => run('redis-cli', ['-p', String(redis.port), ...args]);

let upstream: Upstream;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  upstream = await startUpstream();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await upstream.close();
});

async function stack(options: RateLimitConfigInput) {
  const redis = await startRedis();
  cleanups.push(() => redis.stop());
  const plugin = rateLimit({
    store: 'redis',
    keyBy: 'ip',
    ...options,
    redis: { url: redis.url, ...options.redis },
  });
  const gw: RunningGateway = await startGateway(
    {
      logging: { level: 'warn', pretty: false, accessLog: false },
      services: { api: { targets: [upstream.url], health: false } },
      routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
    },
    [plugin],
  );
  cleanups.push(() => gw.close());
  const ready = async () => {
    const { client } = plugin.store as RedisStore;
    if (client.status !== 'ready') await once(client, 'ready');
  };
  return { redis, gw, ready };
}

/** `n` requests at once, each on its own connection. */
const burst = (url: string, n: number): Promise<Reply[]> =>
  Promise.all(Array.from({ length: n }, () => send(url)));

function count(replies: Reply[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const r of replies) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
}

const seen = (path: string) => upstream.seen.filter((s) => s.url.startsWith(path)).length;

describe('Redis faults under concurrent load', () => {
  it('admits exactly the limit across a SCRIPT FLUSH in the middle of a burst', async () => {
    const { redis, gw } = await stack({ tiers: { free: '20/hour' }, redis: { commandTimeout: '5s' } });
    const first = await burst(`${gw.url}/api/flush`, 10);
    await cli(redis, 'SCRIPT', 'FLUSH');
    const second = await burst(`${gw.url}/api/flush`, 30);
    expect(count([...first, ...second])).toEqual({ 200: 20, 429: 20 });
    expect(seen('/flush')).toBe(20);
  });

  it('answers every request of a burst while Redis is stopped (open, memory fallback), then counts in Redis again', async () => {
    const { redis, gw, ready } = await stack({ tiers: { free: '25/hour' }, redis: { commandTimeout: '5s' } });
    await redis.stop();
    const during = await burst(`${gw.url}/api/stopped`, 50);
    // Limited in process meanwhile: the same budget, no error answers.
    expect(count(during)).toEqual({ 200: 25, 429: 25 });
    await redis.start();
    await ready();
    const after = await burst(`${gw.url}/api/stopped`, 30);
    // The restarted Redis is empty: a fresh budget, counted there.
    expect(count(after)).toEqual({ 200: 25, 429: 5 });
    const keys = (await cli(redis, '--scan', '--pattern', 'lucid:rl:*')).stdout.trim().split('\n');
    expect(keys.filter(Boolean).length).toBeGreaterThan(0);
  });

  it('refuses a burst with 503 while Redis is stuck (closed), sends none upstream, and recovers', async () => {
    const { redis, gw } = await stack({
      tiers: { free: '100/hour' },
      onStoreError: 'closed',
      redis: { commandTimeout: '100ms' },
    });
    expect((await send(`${gw.url}/api/stuck`)).status).toBe(200);
    // Scripts wait while writes are paused; the connection stays up, so only the timeout answers.
    await cli(redis, 'CLIENT', 'PAUSE', '60000', 'WRITE');
    try {
      const during = await burst(`${gw.url}/api/stuck`, 30);
      expect(count(during)).toEqual({ 503: 30 });
      expect(during[0]!.headers['retry-after']).toBe('1');
    } finally {
      await cli(redis, 'CLIENT', 'UNPAUSE');
    }
    expect(seen('/stuck')).toBe(1);
    // The timeouts opened the store's breaker: it closes once its background probe is answered.
    await until(
      async () => (await send(`${gw.url}/api/stuck`)).status,
      (s) => s === 200,
    );
  });

  it('lets a burst through while Redis is stuck (open), limited in process', async () => {
    const { redis, gw } = await stack({ tiers: { free: '10/hour' }, redis: { commandTimeout: '100ms' } });
    await cli(redis, 'CLIENT', 'PAUSE', '60000', 'WRITE');
    try {
      const during = await burst(`${gw.url}/api/stuck-open`, 20);
      expect(count(during)).toEqual({ 200: 10, 429: 10 });
    } finally {
      await cli(redis, 'CLIENT', 'UNPAUSE');
    }
    expect(seen('/stuck-open')).toBe(10);
  });
});
