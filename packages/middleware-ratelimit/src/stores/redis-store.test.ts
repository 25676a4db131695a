import { once } from 'node:events';
import { type RedisServer, startRedis } from '@lucid/test-kit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisStore, StoreTimeoutError, StoreUnavailableError } from './redis-store.js';

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
  const open = async (
    opts: { commandTimeout?: number; slowReply?: number; maxPending?: number; breakerFailures?: number } = {},
  ) => {
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
    // The client's first failed reconnect (a real ECONNREFUSED), which /health then names.
    const refused = once(store.client, 'error');
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
      await refused;
      const health = await store.health();
      expect(health.healthy).toBe(false);
      // In words an operator reads at a glance, not ioredis's "Stream isn't writeable ...".
      expect(health.detail).toMatchObject({ error: 'Redis unreachable (connection refused)' });
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

  it('fails at once, sending nothing, while the connection is not ready', async () => {
    const store = new RedisStore({ url: redis.url });
    stores.push(store);
    expect(store.client.status).toBe('wait');
    await expect(store.consume('rl:{not-ready}', perHour(10))).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await commandCalls(admin, 'evalsha')).toBe(0);
  });

  it('waits for a slow reply (not an outage), uses it, and reports it as slow', async () => {
    const store = await open({ commandTimeout: 5_000, slowReply: 50 });
    const slow: number[] = [];
    store.onSlowReply = (ms) => slow.push(ms);
    expect((await store.consume('rl:{slow}', perHour(2))).allowed).toBe(true);
    expect(slow).toEqual([]);
    // Scripts wait out a 300 ms write pause: far beyond slowReply, well inside commandTimeout.
    await admin.client('PAUSE', 300, 'WRITE');
    const results = await Promise.all(
      Array.from({ length: 3 }, () => store.consume('rl:{slow}', perHour(2))),
    );
    expect(results.map((r) => r.allowed).sort()).toEqual([false, false, true]);
    expect(slow).toHaveLength(3);
    expect(slow.every((ms) => ms >= 50)).toBe(true);
  });

  it('takes a reply that arrived while the process was blocked past the deadline, not a timeout', async () => {
    const store = await open({ commandTimeout: 20 });
    const pending = store.consume('rl:{blocked}', perHour(10));
    // Auto-pipelining writes the command in an immediate queued before this one; then, before the
    // loop polls the socket again, hold it well past the deadline: the reply waits in the socket
    // while the deadline's timer becomes due (the next turn runs timers before reading sockets).
    await new Promise((resolve) => setImmediate(resolve));
    const until = performance.now() + 200;
    while (performance.now() < until) {}
    expect(await pending).toMatchObject({ allowed: true, remaining: 9 });
  });

  it('times out against a hung server (SIGSTOP), then answers again once it runs', async () => {
    // The breaker is tested on its own (test/faults/redis-exact.test.ts): here every call times out.
    const store = await open({ commandTimeout: 300, breakerFailures: Number.POSITIVE_INFINITY });
    const pid = Number(/process_id:(\d+)/.exec(await admin.info('server'))?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGSTOP');
    try {
      const errors = await Promise.all(
        Array.from({ length: 5 }, () =>
          store.consume('rl:{hung}', perHour(10)).then(
            () => undefined,
            (e: unknown) => e,
          ),
        ),
      );
      expect(errors.every((e) => e instanceof StoreTimeoutError)).toBe(true);
      // The connection is still up: a hang is only ever decided by the timeout.
      expect(store.client.status).toBe('ready');
      expect((await store.health()).healthy).toBe(false);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // The five timed-out scripts ran once the server resumed: they were sent, so Redis counted them.
    expect(await store.consume('rl:{hung}', perHour(10))).toMatchObject({ allowed: true, remaining: 4 });
  });

  it('holds at most maxPending unanswered commands for a hung server, failing the rest at once', async () => {
    const store = await open({
      commandTimeout: 200,
      maxPending: 50,
      breakerFailures: Number.POSITIVE_INFINITY,
    });
    const pid = Number(/process_id:(\d+)/.exec(await admin.info('server'))?.[1]);
    process.kill(pid, 'SIGSTOP');
    try {
      const outcome = (p: Promise<unknown>) =>
        p.then(
          () => 'ok',
          (e: unknown) => (e as Error).name,
        );
      const first = await Promise.all(
        Array.from({ length: 80 }, () => outcome(store.consume('rl:{cap}', perHour(1000)))),
      );
      expect(first.filter((o) => o === 'StoreTimeoutError')).toHaveLength(50);
      expect(first.filter((o) => o === 'StoreUnavailableError')).toHaveLength(30);
      // Timed out, yet still unanswered: the cap still holds.
      expect(await outcome(store.consume('rl:{cap}', perHour(1000)))).toBe('StoreUnavailableError');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // Redis answers in order: once a PING sent after the held commands is answered, so are they.
    await store.client.ping();
    expect((await store.consume('rl:{cap-after}', perHour(1000))).allowed).toBe(true);
  });
});
