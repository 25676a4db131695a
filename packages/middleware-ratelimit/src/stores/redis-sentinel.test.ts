import { type RedisServer, startRedis } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sentinel, startSentinel } from '../../test/sentinel.js';
import { RedisStore } from './redis-store.js';

describe('RedisStore through Redis Sentinel (real sentinel and master)', () => {
  let master: RedisServer;
  let sentinel: Sentinel;
  let store: RedisStore;

  beforeAll(async () => {
    master = await startRedis();
    sentinel = await startSentinel(master.port);
    store = new RedisStore({ sentinels: [sentinel.address], name: 'mymaster', commandTimeout: 2_000 });
    await store.connect();
  });
  afterAll(async () => {
    await store?.close();
    await sentinel?.close();
    await master?.stop();
  });

  it('finds the master through the sentinel and limits exactly', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, () => store.consume('lucid:rl:{s}', { limit: 8, windowMs: 3_600_000 })),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(8);
    expect(await store.health()).toMatchObject({ healthy: true });
  });
});
