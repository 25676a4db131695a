import {
  type RedisCluster,
  type RunningGateway,
  startGateway,
  startRedisCluster,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rateLimit } from '../src/index.js';
import { sendMany, statuses, testIdentity } from './support.js';

describe('rate limiting on a Redis Cluster (three real nodes), two gateways', () => {
  let cluster: RedisCluster;
  let upstream: Upstream;
  let admin: Cluster;
  const gateways: RunningGateway[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster();
    upstream = await startUpstream();
    admin = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    for (let i = 0; i < 2; i++) {
      gateways.push(
        await startGateway(
          { services: { api: { targets: [upstream.url] } }, routes: [{ prefix: '/api', service: 'api' }] },
          [
            testIdentity,
            rateLimit({
              store: 'redis',
              redis: { cluster: cluster.urls, commandTimeout: '2s' },
              tiers: { free: '4/hour' },
            }),
          ],
        ),
      );
    }
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    admin?.disconnect();
    await upstream?.close();
    await cluster?.close();
  });

  it('admits exactly `limit` per user, whichever node holds the user’s key', async () => {
    const users = Array.from({ length: 9 }, (_, i) => `user-${i}`);
    const replies = await sendMany(
      (i) => `${gateways[i % 2]!.url}/api/c`,
      users.length * 6,
      (i) => ({ 'x-test-verified': `${users[i % users.length]}:free` }),
    );
    expect(statuses(replies)).toEqual({ 200: users.length * 4, 429: users.length * 2 });
    expect(upstream.seen.length).toBe(users.length * 4);
    const perNode = await Promise.all(admin.nodes('master').map((n) => n.keys('lucid:rl:*')));
    expect(perNode.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);
    for (const key of perNode.flat()) expect(await admin.pttl(key)).toBeGreaterThan(0);
    expect((await gateways[0]!.gateway.health()).components?.['rate-limit']?.healthy).toBe(true);
  });
});
