import { type RedisCluster, startRedisCluster } from '@lucid/test-kit';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from './redis-store.js';

const perHour = (limit: number) => ({ limit, windowMs: 3_600_000 });

describe('RedisStore on a Redis Cluster (three real nodes)', () => {
  let cluster: RedisCluster;
  let admin: Cluster;
  let store: RedisStore;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    admin = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    store = new RedisStore({ cluster: cluster.urls, commandTimeout: 2_000 });
    await store.connect();
  });
  afterAll(async () => {
    await store?.close();
    admin?.disconnect();
    await cluster?.close();
  });

  it('limits keys that live on every node, exactly', async () => {
    // Enough distinct hash tags to land on all three masters.
    const keys = Array.from({ length: 12 }, (_, i) => `lucid:rl:{user-${i}}`);
    const results = await Promise.all(
      keys.flatMap((key) =>
        Array.from({ length: 8 }, () => store.consume(key, perHour(5)).then((r) => [key, r] as const)),
      ),
    );
    for (const key of keys) {
      expect(results.filter(([k, r]) => k === key && r.allowed)).toHaveLength(5);
    }
    for (const key of keys) expect(await admin.pttl(key)).toBeGreaterThan(0);
    const nodesWithKeys = await Promise.all(admin.nodes('master').map((n) => n.dbsize()));
    expect(nodesWithKeys.filter((n) => n > 0).length).toBe(3);
  });

  it('keeps limiting after SCRIPT FLUSH on every node', async () => {
    await Promise.all(admin.nodes('master').map((n) => n.script('FLUSH')));
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await store.consume('lucid:rl:{after-flush}', perHour(3)));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
  });
});
