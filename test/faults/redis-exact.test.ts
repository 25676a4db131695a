import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { type RedisStore, rateLimit } from '@lucid/middleware-ratelimit';
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * With Redis up, the limit is exact: 20 bursts of 150 concurrent requests through the gateway
 * against a limit of 100 admit exactly 100 each, on a quiet machine and while busy processes keep
 * every core loaded (a slow reply is not an outage). A hung Redis (SIGSTOP) still ends in the
 * configured failure mode after the command timeout.
 */

const BURSTS = 20;
const BURST = 150;
const LIMIT = 100;

let upstream: Upstream;
let redis: RedisServer;
let gw: RunningGateway;
const busy: ChildProcess[] = [];
let slowest = 0;

beforeAll(async () => {
  upstream = await startUpstream();
  redis = await startRedis();
  // Default command timeout and slow-reply threshold: the settings under test are the shipped ones.
  const plugin = rateLimit({
    store: 'redis',
    redis: { url: redis.url },
    keyBy: { header: 'x-client' },
    tiers: { free: `${LIMIT}/day` },
    onStoreError: 'open',
    fallback: 'memory',
  });
  gw = await startGateway(
    {
      logging: { level: 'warn', pretty: false, accessLog: false },
      services: { api: { targets: [upstream.url], health: false } },
      routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
    },
    [plugin],
  );
  const store = plugin.store as RedisStore;
  if (store.client.status !== 'ready') await once(store.client, 'ready');
  // Keep the metric, and note the slowest reply (the margin left below the command timeout).
  const counted = store.onSlowReply;
  store.onSlowReply = (ms) => {
    slowest = Math.max(slowest, ms);
    counted?.(ms);
  };
});

afterAll(async () => {
  stopBusy();
  await gw?.close();
  await redis?.stop();
  await upstream?.close();
});

/** One busy-loop process per core, each ending on its own after `seconds` in case a test dies first. */
function startBusy(seconds: number): void {
  for (let i = 0; i < availableParallelism(); i++) {
    const code = `const end = Date.now() + ${seconds * 1000}; while (Date.now() < end) {}`;
    busy.push(spawn(process.execPath, ['-e', code], { stdio: 'ignore' }));
  }
}

function stopBusy(): void {
  for (const child of busy.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
}

/** A counter from /metrics (summed over its series). */
async function metric(name: string): Promise<number> {
  const text = (await send(`${gw.url}/metrics`)).text;
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) total += Number(line.split(' ').at(-1));
  }
  return total;
}

const statuses = (replies: Reply[]) => {
  const out: Record<number, number> = {};
  for (const r of replies) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
};

/** `BURSTS` bursts of `BURST` requests at once (each on its own connection), one fresh client key per burst. */
async function bursts(label: string) {
  const admitted: number[] = [];
  for (let b = 0; b < BURSTS; b++) {
    const client = `${label}-${b}`;
    const path = `/api/${client}`;
    const replies = await Promise.all(
      Array.from({ length: BURST }, () => send(`${gw.url}${path}`, { headers: { 'x-client': client } })),
    );
    expect(statuses(replies)).toEqual({ 200: LIMIT, 429: BURST - LIMIT });
    // The route strips its prefix: the upstream sees `/<client>`.
    admitted.push(upstream.seen.filter((s) => s.url === `/${client}`).length);
  }
  return admitted;
}

describe('Redis limiter exactness under load', () => {
  it(`admits exactly ${LIMIT} of each of ${BURSTS} bursts of ${BURST}, on a quiet machine`, async ({
    annotate,
  }) => {
    const [errors, slow] = [
      await metric('lucid_gateway_ratelimit_store_errors_total'),
      await metric('lucid_gateway_ratelimit_store_slow_replies_total'),
    ];
    const admitted = await bursts('quiet');
    expect(admitted).toEqual(Array(BURSTS).fill(LIMIT));
    expect(await metric('lucid_gateway_ratelimit_store_errors_total')).toBe(errors);
    const slowReplies = (await metric('lucid_gateway_ratelimit_store_slow_replies_total')) - slow;
    await annotate(
      `quiet: ${BURSTS}x${BURST} requests, admitted ${admitted.join(',')}; slow replies (>50 ms): ${slowReplies}, slowest ${Math.round(slowest)} ms`,
    );
  }, 120_000);

  it(`admits exactly ${LIMIT} of each of ${BURSTS} bursts of ${BURST} while busy processes load every core`, async ({
    annotate,
  }) => {
    const [errors, slow] = [
      await metric('lucid_gateway_ratelimit_store_errors_total'),
      await metric('lucid_gateway_ratelimit_store_slow_replies_total'),
    ];
    startBusy(180);
    slowest = 0;
    try {
      const admitted = await bursts('loaded');
      expect(admitted).toEqual(Array(BURSTS).fill(LIMIT));
      expect(await metric('lucid_gateway_ratelimit_store_errors_total')).toBe(errors);
      const slowReplies = (await metric('lucid_gateway_ratelimit_store_slow_replies_total')) - slow;
      await annotate(
        `loaded (${busy.length} busy processes): admitted ${admitted.join(',')}; slow replies (>50 ms): ${slowReplies}, slowest ${Math.round(slowest)} ms`,
      );
      // The load lasted the whole run: no busy process had ended before the last burst.
      expect(busy.every((c) => c.exitCode === null)).toBe(true);
    } finally {
      stopBusy();
    }
  }, 240_000);
});

describe('a hung Redis (SIGSTOP) still follows onStoreError after the command timeout', () => {
  it.each(['closed', 'open'] as const)(
    'onStoreError %s',
    async (onStoreError) => {
      const hung = await startRedis();
      const plugin = rateLimit({
        store: 'redis',
        redis: { url: hung.url, commandTimeout: '300ms' },
        keyBy: 'ip',
        tiers: { free: '10/hour' },
        onStoreError,
      });
      const g = await startGateway(
        {
          logging: { level: 'error', pretty: false, accessLog: false },
          services: { api: { targets: [upstream.url], health: false } },
          routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
        },
        [plugin],
      );
      const info = await promisify(execFile)('redis-cli', ['-p', String(hung.port), 'INFO', 'server']);
      const pid = Number(/process_id:(\d+)/.exec(info.stdout)?.[1]);
      expect(pid).toBeGreaterThan(0);
      const path = `/api/hung-${onStoreError}`;
      try {
        const { client } = plugin.store as RedisStore;
        if (client.status !== 'ready') await once(client, 'ready');
        expect((await send(`${g.url}${path}`)).status).toBe(200);
        process.kill(pid, 'SIGSTOP');
        try {
          const during = await Promise.all(Array.from({ length: 20 }, () => send(`${g.url}${path}`)));
          // closed: refused; open: the in-process fallback limits with the same budget.
          expect(statuses(during)).toEqual(onStoreError === 'closed' ? { 503: 20 } : { 200: 10, 429: 10 });
          // Still connected all along: only the timeout decided.
          expect(client.status).toBe('ready');
        } finally {
          process.kill(pid, 'SIGCONT');
        }
      } finally {
        await g.close();
        await hung.stop();
      }
    },
    60_000,
  );
});

describe('a Redis that hangs costs a few timeouts, not one per request', () => {
  it('opens the breaker after consecutive timeouts, answers 200 more by policy without waiting, then counts in Redis again', async () => {
    const hung = await startRedis();
    const plugin = rateLimit({
      store: 'redis',
      redis: { url: hung.url, commandTimeout: '200ms' },
      keyBy: 'ip',
      tiers: { free: '1000/hour' },
      onStoreError: 'closed',
    });
    const g = await startGateway(
      {
        logging: { level: 'error', pretty: false, accessLog: false },
        services: { api: { targets: [upstream.url], health: false } },
        routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
      },
      [plugin],
    );
    const store = plugin.store as RedisStore;
    try {
      expect((await send(`${g.url}/api/breaker`)).status).toBe(200);
      process.kill(hung.pid!, 'SIGSTOP');
      try {
        // One at a time until the breaker opened: each of these waited the command timeout.
        const first: Reply[] = [];
        while (!store.breaker.open) first.push(await send(`${g.url}/api/breaker`));
        expect(statuses(first)).toEqual({ 503: 3 });
        expect(store.timedOut).toBe(3);
        const during = await Promise.all(Array.from({ length: 200 }, () => send(`${g.url}/api/breaker`)));
        // Each answered by the policy (closed: 503), none sent to Redis.
        expect(statuses(during)).toEqual({ 503: 200 });
        expect(store.timedOut).toBe(3);
      } finally {
        process.kill(hung.pid!, 'SIGCONT');
      }
      // A background probe finds Redis back; requests are counted there again.
      const back = await until(
        async () => (await send(`${g.url}/api/breaker`)).status,
        (s) => s === 200,
      );
      expect(back).toBe(200);
      expect(store.breaker.open).toBe(false);
      const keys = await promisify(execFile)('redis-cli', [
        '-p',
        String(hung.port),
        '--scan',
        '--pattern',
        'lucid:rl:*',
      ]);
      expect(keys.stdout.trim()).not.toBe('');
      // Redis counted the first request, the three that timed out (they ran once it resumed) and those since.
      expect(store.breaker.probes).toBeGreaterThanOrEqual(1);
    } finally {
      await g.close();
      await hung.stop();
    }
  }, 60_000);
});
