import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createGateway, createLogger, type Gateway } from '@lucid/gateway-core';
import { rateLimit } from '@lucid/middleware-ratelimit';
import {
  logSink,
  type RedisServer,
  send,
  startGateway,
  startRedis,
  startUpstream,
  type Upstream,
  until,
} from '@lucid/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/**
 * Ready means ready: `listen()` resolves, and /health/ready turns 200, only once the components a
 * config names are: the rate-limit store connected (two instances started together count in Redis
 * from their first request), and until then /health/ready says what it waits on. A store that
 * cannot get ready in time leaves the gateway to its policy, and the log says so.
 */

const run = promisify(execFile);
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

const config = {
  logging: { level: 'info', pretty: false, accessLog: false },
  services: { api: { targets: [] as string[], health: false } },
  routes: [{ prefix: '/api', service: 'api', auth: 'public' }],
};
const withTargets = () => ({ ...config, services: { api: { targets: [upstream.url], health: false } } });

async function redis(): Promise<RedisServer> {
  const server = await startRedis();
  cleanups.push(() => server.stop());
  return server;
}

describe('ready means ready', () => {
  it('two instances started together on one Redis admit exactly the limit from their first request', async () => {
    const store = await redis();
    const limiter = () =>
      rateLimit({
        store: 'redis',
        keyBy: { header: 'x-client' },
        tiers: { free: '10/hour' },
        redis: { url: store.url },
      });
    // Started at once, and asked at once: no request is counted in memory, none twice.
    const [a, b] = await Promise.all([
      startGateway(withTargets(), [limiter()]),
      startGateway(withTargets(), [limiter()]),
    ]);
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    const replies = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        send(`${(i % 2 ? a : b).url}/api/x`, { headers: { 'x-client': 'c' } }),
      ),
    );
    const admitted = replies.filter((r) => r.status === 200).length;
    expect(admitted).toBe(10);
    expect(replies.filter((r) => r.status === 429)).toHaveLength(6);
  });

  it('says it waits on the store while Redis does not answer, then follows onStoreError and logs it', async () => {
    const store = await redis();
    // Accepts the connection, never answers: only the connect timeout ends the wait.
    process.kill(store.pid!, 'SIGSTOP');
    const sink = logSink();
    const gateway: Gateway = createGateway(withTargets() as never, {
      plugins: [
        { name: 'allow-anyone (test)', provides: ['authentication'] },
        rateLimit({
          store: 'redis',
          onStoreError: 'closed',
          tiers: { free: '10/hour' },
          redis: { url: store.url, connectTimeout: '1s' },
        }),
      ],
      logger: createLogger({ level: 'info', pretty: false, accessLog: false }, sink.stream),
    });
    cleanups.push(() => gateway.close({ graceMs: 0 }));
    const listening = gateway.listen({ port: 0, host: '127.0.0.1' });
    const port = (await until(async () => gateway.address(), Boolean))!.port;
    const waiting = await send(`http://127.0.0.1:${port}/health/ready`);
    expect(waiting.status).toBe(503);
    expect(waiting.json()).toEqual({ status: 'not ready', waiting: ['rate-limit'] });

    await listening;
    expect(gateway.ready).toBe(true);
    expect(sink.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        store: 'redis',
        onStoreError: 'closed',
        msg: expect.stringContaining('rate-limit store not ready at start'),
      }),
    );
    // Its policy: closed refuses while Redis cannot count.
    expect((await send(`http://127.0.0.1:${port}/api/x`)).status).toBe(503);
    process.kill(store.pid!, 'SIGCONT');
    await until(
      async () => (await send(`http://127.0.0.1:${port}/api/x`)).status,
      (s) => s === 200,
    );
    const keys = (await run('redis-cli', ['-p', String(store.port), '--scan', '--pattern', 'lucid:rl:*']))
      .stdout;
    expect(keys.trim()).not.toBe('');
  });
});
