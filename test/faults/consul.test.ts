import { type ConsulMeshPlugin, consulMesh } from '@lucid/mesh-consul';
import {
  freePort,
  type RunningGateway,
  send,
  startGateway,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import { type ConsulUnderTest, consulUnderTest, realAgent, until } from '@lucid/test-kit/consul';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * Consul down or failing, around a gateway that discovers a service through it (the Consul
 * stand-in can go down on demand; a real agent cannot, so these skip when CONSUL_HTTP_ADDR is set).
 */

const cleanups: Array<() => unknown> = [];
let consul: ConsulUnderTest;

beforeEach(async () => {
  consul = await consulUnderTest();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await consul.close();
});

async function named(name: string): Promise<Upstream> {
  const u = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': name.length });
    res.end(name);
  });
  cleanups.push(() => u.close());
  return u;
}

const whenDiscovered = (
  plugin: ConsulMeshPlugin,
  predicate: (s: { targets: number; stale: boolean }) => boolean,
) =>
  until(
    () => {
      const s = plugin.discovery.state().sessions;
      return s !== undefined && predicate(s);
    },
    (notify) => plugin.discovery.subscribe(notify),
  );

async function gateway(serviceName: string, extra: Record<string, unknown> = {}) {
  const stat = await named('static');
  const mesh = {
    consul: { url: consul.url, token: consul.token, wait: '10s', backoff: { min: 20, max: 200 }, ...extra },
  };
  const plugin = consulMesh(mesh);
  const gw: RunningGateway = await startGateway(
    {
      logging: { level: 'warn', pretty: false, accessLog: false },
      services: {
        // Checked (a TCP connect by default): /health calls no unchecked service healthy.
        sessions: { discovery: 'consul', consul: { service: serviceName } },
        static: { targets: [stat.url] },
      },
      routes: [
        { prefix: '/sessions', service: 'sessions', auth: 'public' },
        { prefix: '/static', service: 'static', auth: 'public' },
      ],
      mesh,
    },
    [plugin],
  );
  cleanups.push(() => gw.close());
  return { gw, plugin };
}

describe.skipIf(realAgent)('Consul down', () => {
  it('starts while Consul is down: 503 for the discovered service, static routes serve, then it catches up', async () => {
    const name = consul.unique('sessions');
    await consul.server!.stop();
    const { gw, plugin } = await gateway(name);

    const early = await send(`${gw.url}/sessions/x`);
    expect(early.status).toBe(503);
    expect(early.headers['content-type']).toBe('application/problem+json');
    expect(early.text).not.toContain(consul.url);
    expect((await send(`${gw.url}/static/x`)).text).toBe('static');
    expect((await gw.gateway.health()).status).not.toBe('healthy');

    await consul.server!.start();
    const a = await named('a');
    await consul.registerInstance({ name, port: a.port });
    await whenDiscovered(plugin, (s) => s.targets === 1 && !s.stale);
    expect((await send(`${gw.url}/sessions/x`)).text).toBe('a');
  });

  it('keeps every request flowing while Consul answers 500 to everything, then recovers', async () => {
    const name = consul.unique('sessions');
    const { gw, plugin } = await gateway(name);
    const [a, b] = [await named('a'), await named('b')];
    await consul.registerInstance({ name, port: a.port });
    await consul.registerInstance({ name, port: b.port });
    await whenDiscovered(plugin, (s) => s.targets === 2);

    consul.server!.failRequests(500);
    await whenDiscovered(plugin, (s) => s.stale);
    const answers = await Promise.all(Array.from({ length: 40 }, () => send(`${gw.url}/sessions/x`)));
    expect(answers.filter((r) => r.status !== 200)).toEqual([]);
    expect(new Set(answers.map((r) => r.text))).toEqual(new Set(['a', 'b']));
    expect((await gw.gateway.health()).status).toBe('degraded');

    consul.server!.failRequests(undefined);
    await whenDiscovered(plugin, (s) => !s.stale);
    expect((await gw.gateway.health()).status).toBe('healthy');
  });

  it('closes promptly when Consul is down at shutdown, though it cannot deregister', async () => {
    const name = consul.unique('lucid-api-gateway');
    const port = await freePort();
    const { gw } = await gateway(consul.unique('sessions'), { register: { name, id: `${name}-1`, port } });
    expect(Object.keys(await consul.agentServices())).toContain(`${name}-1`);
    await consul.server!.stop();
    await gw.close();
    // Closed for good: a second close is a no-op.
    await gw.close();
  });
});
