import { once } from 'node:events';
import { type RedisServer, startRedis } from '@lucid/test-kit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisStore } from './redis-store.js';

const perHour = (limit: number) => ({ limit, windowMs: 3_600_000 });

async function commandCalls(admin: Redis, command: string): Promise<number> {
  const info = await admin.info('commandstats');
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
}

/** Redis's own clock in ms (the clock the script uses). */
async function redisNow(admin: Redis): Promise<number> {
  const [s, us] = await admin.time();
  return Number(s) * 1000 + Number(us) / 1000;
}

describe('RedisStore (real redis-server)', () => {
  let redis: RedisServer;
  let admin: Redis;
  const stores: RedisStore[] = [];
  const open = async (opts: { commandTimeout?: number } = {}) => {
    const store = new RedisStore({ url: redis.url, commandTimeout: 2_000, ...opts });
    stores.push(store);
    await store.connect();
    return store;
  };

  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await admin.flushall();
    await admin.config('RESETSTAT');
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.stop();
  });

  it('admits exactly `limit` of limit+N concurrent calls', async () => {
    const store = await open();
    const results = await Promise.all(
      Array.from({ length: 150 }, () => store.consume('rl:{a}', perHour(100))),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(100);
    expect(results.filter((r) => !r.allowed).every((r) => r.remaining === 0 && r.retryAfterMs > 0)).toBe(
      true,
    );
  });

  it('admits exactly `limit` across three clients sharing one Redis', async () => {
    const three = await Promise.all([open(), open(), open()]);
    const calls = Array.from({ length: 180 }, (_, i) => three[i % 3]!.consume('rl:{shared}', perHour(120)));
    const results = await Promise.all(calls);
    expect(results.filter((r) => r.allowed)).toHaveLength(120);
  });

  it('lets instances with skewed clocks agree (the time is Redis TIME)', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const policy = { limit: 10, windowMs: 60_000 };
    const first = await a.consume('rl:{skew}', policy);
    // This process's clock jumps an hour ahead (only Date: ioredis's timers keep working).
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_600_000 });
    try {
      const second = await b.consume('rl:{skew}', policy);
      expect(first).toMatchObject({ allowed: true, remaining: 9 });
      expect(second).toMatchObject({ allowed: true, remaining: 8 });
      expect(second.resetMs).toBeGreaterThan(first.resetMs);
      expect(second.resetMs).toBeLessThanOrEqual(12_000);
    } finally {
      vi.useRealTimers();
    }
  });

  it('reports limit, remaining, reset and retry-after from Redis time', async () => {
    const store = await open();
    const policy = { limit: 2, windowMs: 60_000 };
    expect(await store.consume('rl:{r}', policy)).toEqual({
      allowed: true,
      limit: 2,
      remaining: 1,
      resetMs: 30_000,
      retryAfterMs: 0,
    });
    expect(await store.consume('rl:{r}', policy)).toMatchObject({ allowed: true, remaining: 0 });
    const denied = await store.consume('rl:{r}', policy);
    expect(denied.allowed).toBe(false);
    expect(denied.retryAfterMs).toBeGreaterThan(29_000);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('does not admit twice the limit across a window edge', async () => {
    const store = await open();
    const policy = { limit: 20, windowMs: 2_000 }; // one more every 100 ms
    // Start just before a 2 s boundary of Redis's clock, where a fixed-window counter would reset.
    for (;;) {
      const left = 2_000 - ((await redisNow(admin)) % 2_000);
      if (left > 50 && left < 400) break;
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, left - 300)));
    }
    const start = await redisNow(admin);
    const boundary = Math.ceil(start / 2_000) * 2_000;
    const burst = () => Promise.all(Array.from({ length: 20 }, () => store.consume('rl:{edge}', policy)));
    const before = (await burst()).filter((r) => r.allowed).length;
    while ((await redisNow(admin)) <= boundary) await new Promise((resolve) => setTimeout(resolve, 20));
    const after = (await burst()).filter((r) => r.allowed).length;
    const elapsed = (await redisNow(admin)) - start;
    expect(before).toBe(20);
    // Only what refilled in the elapsed time (one per 100 ms) is admitted after the edge, not another 20.
    expect(after).toBeLessThanOrEqual(Math.floor(elapsed / 100) + 1);
    expect(before + after).toBeLessThan(40);
  });

  it('writes every key with a TTL, and only on admission', async () => {
    const store = await open();
    for (let i = 0; i < 30; i++) await store.consume(`rl:{user-${i % 7}}`, { limit: 3, windowMs: 10_000 });
    const keys = await admin.keys('*');
    expect(keys.sort()).toEqual(Array.from({ length: 7 }, (_, i) => `rl:{user-${i}}`).sort());
    for (const key of keys) {
      const ttl = await admin.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(10_000);
    }
  });

  it('loads the script once and runs it with EVALSHA', async () => {
    const store = await open();
    for (let i = 0; i < 10; i++) await store.consume('rl:{sha}', perHour(100));
    expect(await commandCalls(admin, 'evalsha')).toBe(10);
    expect(await commandCalls(admin, 'eval')).toBe(0);
  });

  it('keeps limiting after SCRIPT FLUSH (one EVAL reloads the script)', async () => {
    const store = await open();
    const policy = perHour(5);
    for (let i = 0; i < 3; i++) expect((await store.consume('rl:{flush}', policy)).allowed).toBe(true);
    await admin.script('FLUSH');
    const rest = [];
    for (let i = 0; i < 4; i++) rest.push(await store.consume('rl:{flush}', policy));
    expect(rest.map((r) => r.allowed)).toEqual([true, true, false, false]);
    expect(await commandCalls(admin, 'eval')).toBe(1);
  });

  it('fails fast while Redis is down and recovers when it is back', async () => {
    const store = await open();
    expect((await store.consume('rl:{down}', perHour(10))).allowed).toBe(true);
    await redis.stop();
    try {
      const errors = await Promise.all(
        Array.from({ length: 5 }, () =>
          store.consume('rl:{down}', perHour(10)).then(
            () => undefined,
            (e: Error) => e,
          ),
        ),
      );
      expect(errors.every((e) => e instanceof Error)).toBe(true);
      expect((await store.health()).healthy).toBe(false);
    } finally {
      await redis.start();
    }
    if (store.client.status !== 'ready') await once(store.client, 'ready');
    // The restarted server is empty (no persistence): a fresh budget, and the script loaded again on reconnect.
    expect(await store.consume('rl:{down}', perHour(10))).toMatchObject({ allowed: true, remaining: 9 });
    expect((await store.health()).healthy).toBe(true);
  });

  it('answers with a timeout error, not a hang, when Redis stops responding', async () => {
    const store = await open({ commandTimeout: 50 });
    // WRITE mode blocks scripts but still lets this connection send UNPAUSE.
    await admin.client('PAUSE', 10_000, 'WRITE');
    try {
      const startedAt = Date.now();
      const err = await store.consume('rl:{paused}', perHour(10)).then(
        () => undefined,
        (e: Error) => e,
      );
      // Answered by the 50 ms command timeout, long before the 10 s pause ends.
      expect(err?.message).toMatch(/timed out/i);
      expect(Date.now() - startedAt).toBeLessThan(10_000);
    } finally {
      await admin.client('UNPAUSE');
    }
  });
});
