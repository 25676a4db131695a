import { readdirSync } from 'node:fs';
import type { GatewayConfigInput, GatewayPlugin } from '@lucid/gateway-core';
import { type ConsulMeshPlugin, consulMesh } from '@lucid/mesh-consul';
import {
  freePort,
  type RunningGateway,
  send,
  serverCertificate,
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

const descriptors = () => readdirSync('/proc/self/fd').length;

describe.skipIf(realAgent)('failed reloads', () => {
  it('ten reloads that fail (a certificate, a watch that fails to start) leave Consul watches and descriptors where they were', async () => {
    const cert = await serverCertificate();
    cleanups.push(() => cert.close());
    const name = consul.unique('sessions');
    await consul.registerInstance({ name, port: (await named('a')).port });
    const mesh = {
      consul: { url: consul.url, token: consul.token, wait: '10s', backoff: { min: 20, max: 200 } },
    };
    const plugin = consulMesh(mesh);
    // A second discovery whose watch cannot start: it fails the reload after Consul's watch began.
    const broken: GatewayPlugin = {
      name: 'broken-registry',
      discovery: {
        name: 'broken',
        watch() {
          throw new Error('the registry refused the watch');
        },
      },
    };
    const cfg = (certFile: string, withBroken: boolean) =>
      ({
        server: { tls: { cert: certFile, key: cert.keyFile } },
        logging: { level: 'silent', pretty: false, accessLog: false },
        services: {
          sessions: { discovery: 'consul', consul: { service: name }, health: false },
          ...(withBroken && { other: { discovery: 'broken', health: false } }),
        },
        routes: [{ prefix: '/sessions', service: 'sessions', auth: 'public' }],
        mesh,
      }) as GatewayConfigInput;
    const gw = await startGateway(cfg(cert.certFile, false), [plugin, broken]);
    cleanups.push(() => gw.close());
    expect((await send(`${gw.url}/sessions/x`, { ca: cert.ca })).text).toBe('a');
    const server = consul.server!;
    await untilValue(
      () => server.blocking(),
      (n) => n === 1,
    );
    const reads = server.requests.length;
    const before = descriptors();

    for (let i = 0; i < 5; i++) {
      // Refused before anything is built: the certificate file cannot be read.
      await expect(gw.gateway.reload(cfg(`${cert.certFile}.missing`, false))).rejects.toThrow(
        /server\.tls\.cert: cannot read/,
      );
      // Built and started (Consul's watch began), then refused: every watch it began is stopped.
      await expect(gw.gateway.reload(cfg(cert.certFile, true))).rejects.toThrow(
        'the registry refused the watch',
      );
    }
    // Every watch still running answers a change: leaked ones would be waiting again too.
    await consul.registerInstance({ name, port: (await named('b')).port });
    await whenDiscovered(plugin, (s) => s.targets === 2);
    await untilValue(
      () => server.blocking(),
      (n) => n >= 1,
    );
    expect(server.blocking()).toBe(1);
    // The failed attempts' watches asked Consul nothing beyond the live watch's reads.
    const health = server.requests.slice(reads).filter((r) => r.path.startsWith('/v1/health/'));
    expect(health.length).toBeLessThanOrEqual(2 + 5);
    await untilValue(descriptors, (n) => n <= before + 4);
    expect((await send(`${gw.url}/sessions/x`, { ca: cert.ca })).status).toBe(200);
    const failures = (await gw.gateway.registry.getSingleMetricAsString('lucid_gateway_config_reloads_total'))
      .split('\n')
      .find((l) => l.includes('result="failure"'));
    expect(failures).toMatch(/ 10$/);
  });
});

async function untilValue(read: () => number, done: (n: number) => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(read()); i++) await new Promise((r) => setTimeout(r, 25));
  expect(done(read()), `last value ${read()}`).toBe(true);
}
