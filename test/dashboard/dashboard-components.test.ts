import { generateKeyPairSync } from 'node:crypto';
import { consulMesh } from '@lucid/mesh-consul';
import { jwtAuth } from '@lucid/middleware-auth';
import { rateLimit } from '@lucid/middleware-ratelimit';
import {
  type RedisServer,
  type RunningGateway,
  startGateway,
  startJwksServer,
  startRedis,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import { type ConsulUnderTest, consulUnderTest, realAgent, until } from '@lucid/test-kit/consul';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REDIS_PASSWORD = 'dashboard-redis-pw-3c1f';

interface State {
  components: Record<string, { healthy: boolean; detail?: Record<string, unknown> }>;
  services: Array<{ name: string; targets: Array<{ id: string; status: string; reason: string | null }> }>;
}

describe.skipIf(realAgent)('the dashboard over real components: Redis, a JWKS endpoint, Consul', () => {
  let redis: RedisServer;
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;
  let consul: ConsulUnderTest;
  let a: Upstream;
  let b: Upstream;
  let gw: RunningGateway;
  let mesh: ReturnType<typeof consulMesh>;
  let name: string;
  let raw = '';

  const read = async (): Promise<State> => {
    const res = await fetch(`${gw.url}/ui/state.json`);
    expect(res.status).toBe(200);
    raw = await res.text();
    expect(raw).not.toContain(REDIS_PASSWORD);
    return JSON.parse(raw) as State;
  };
  const discovered = (predicate: (s: { targets: number; stale: boolean }) => boolean) =>
    until(
      () => {
        const s = mesh.discovery.state().sessions;
        return s !== undefined && predicate(s);
      },
      (notify) => mesh.discovery.subscribe(notify),
    );

  beforeAll(async () => {
    redis = await startRedis(['--requirepass', REDIS_PASSWORD]);
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    jwks = await startJwksServer([{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256' }]);
    consul = await consulUnderTest();
    [a, b] = [await startUpstream(), await startUpstream()];
    name = consul.unique('sessions');
    const meshConfig = {
      consul: { url: consul.url, token: consul.token, wait: '10s', backoff: { min: 20, max: 200 } },
    };
    mesh = consulMesh(meshConfig);
    gw = await startGateway(
      {
        logging: { level: 'silent', pretty: false, accessLog: false },
        builtins: { ui: { auth: 'public' } },
        services: { sessions: { discovery: 'consul', consul: { service: name }, health: false } },
        routes: [{ prefix: '/sessions', service: 'sessions', auth: 'public' }],
      },
      [
        jwtAuth({
          jwt: { jwks: jwks.url, algorithms: ['ES256'], issuer: 'lucid-auth', audience: 'lucid-api' },
        }),
        rateLimit({ store: 'redis', redis: { url: `redis://:${REDIS_PASSWORD}@127.0.0.1:${redis.port}` } }),
        mesh,
      ],
    );
    await consul.registerInstance({ name, port: a.port, id: `${name}-a` });
    await consul.registerInstance({ name, port: b.port, id: `${name}-b` });
    await discovered((s) => s.targets === 2);
  });

  afterAll(async () => {
    await gw?.close();
    await Promise.all([a?.close(), b?.close(), jwks?.close(), consul?.close(), redis?.stop()]);
  });

  it('shows each component healthy with its detail: the key set, the store, discovery', async () => {
    const { components } = await read();
    expect(components.auth).toMatchObject({
      healthy: true,
      detail: { keySource: 'jwks', jwks: { keys: 1 } },
    });
    expect(components['rate-limit']).toMatchObject({ healthy: true, detail: { store: 'redis' } });
    expect(components.consul?.healthy).toBe(true);
    expect(JSON.stringify(components.consul?.detail)).toContain(name);
  });

  it('shows a target Consul no longer lists as removed by discovery', async () => {
    await consul.deregister(`${name}-b`);
    await discovered((s) => s.targets === 1);
    const targets = (await read()).services[0]!.targets;
    expect(targets.map((t) => [t.id, t.status, t.reason])).toEqual([
      [`http://127.0.0.1:${a.port}`, 'up', null],
      [`http://127.0.0.1:${b.port}`, 'removed', 'removed by discovery'],
    ]);
  });

  it('shows Consul stale while it fails, and Redis down while it is down, without its password', async () => {
    consul.server!.failRequests(500);
    await discovered((s) => s.stale);
    let { components } = await read();
    expect(components.consul).toMatchObject({ healthy: false, detail: { stale: ['sessions'] } });
    consul.server!.failRequests(undefined);
    await discovered((s) => !s.stale);

    await redis.stop();
    ({ components } = await read());
    expect(components['rate-limit']?.healthy).toBe(false);
    expect(components.consul?.healthy).toBe(true);
  });
});
