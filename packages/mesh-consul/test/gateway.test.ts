/**
 * The mesh through the real gateway over real HTTP: discovery moves traffic, an outage keeps
 * it flowing, the gateway registers and deregisters itself, and Connect mTLS reaches upstreams.
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { composeConfigSchema, createGateway, createLogger, type Gateway } from '@lucid/gateway-core';
import {
  freePort,
  logSink,
  type RunningGateway,
  send,
  startGateway,
  startUpstream,
  type Upstream,
} from '@lucid/test-kit';
import {
  type ConsulUnderTest,
  consulUnderTest,
  createPki,
  type Pki,
  realAgent,
  until,
} from '@lucid/test-kit/consul';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { meshPluginSchema } from '../src/config/plugin-schema.js';
import { type ConsulMeshPlugin, consulDiscovery, consulMesh, type MeshConfigInput } from '../src/index.js';

// A service as the gateway parses it with this plugin: `discovery: consul` and its `consul` options.
const serviceSchema = composeConfigSchema([meshPluginSchema]).service;

/** A loopback upstream that answers with its own name. */
const named = (name: string) =>
  startUpstream((_req, res) => {
    const body = JSON.stringify({ upstream: name });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });

/** Waits until the plugin's discovery state for `service` satisfies `predicate`. */
const whenDiscovered = (
  plugin: ConsulMeshPlugin,
  service: string,
  predicate: (s: { targets: number; stale: boolean }) => boolean,
) =>
  until(
    () => {
      const s = plugin.discovery.state()[service];
      return s !== undefined && predicate(s);
    },
    (notify) => plugin.discovery.subscribe(notify),
  );

async function whoAnswers(url: string, times: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < times; i++) {
    const res = await send(`${url}/sessions/ping`);
    expect(res.status).toBe(200);
    out.push(res.json<{ upstream: string }>().upstream);
  }
  return out;
}

describe('consul mesh through the gateway', () => {
  let consul: ConsulUnderTest;
  const cleanup: Array<() => Promise<unknown>> = [];

  beforeEach(async () => {
    consul = await consulUnderTest();
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
    await consul.close();
  });

  const mesh = (extra: Partial<NonNullable<MeshConfigInput['consul']>> = {}): MeshConfigInput => ({
    consul: { url: consul.url, token: consul.token, wait: '10s', backoff: { min: 20, max: 200 }, ...extra },
  });

  async function gatewayFor(consulService: string, plugin: ConsulMeshPlugin): Promise<RunningGateway> {
    const gw = await startGateway(
      {
        services: {
          sessions: { discovery: 'consul', consul: { service: consulService }, balancer: 'round-robin' },
        },
        routes: [{ prefix: '/sessions', service: 'sessions', auth: 'public' }],
        mesh: mesh(),
      },
      [plugin],
    );
    cleanup.push(() => gw.close());
    return gw;
  }

  async function upstream(name: string): Promise<Upstream> {
    const up = await named(name);
    cleanup.push(() => up.close());
    return up;
  }

  it('sends traffic where Consul says: instances added, turning critical, removed', async () => {
    const name = consul.unique('sessions');
    const [a, b] = [await upstream('a'), await upstream('b')];
    const plugin = consulMesh(mesh());
    const gw = await gatewayFor(name, plugin);

    const idA = await consul.registerInstance({ name, port: a.port });
    await whenDiscovered(plugin, 'sessions', (s) => s.targets === 1);
    expect(new Set(await whoAnswers(gw.url, 3))).toEqual(new Set(['a']));

    const idB = await consul.registerInstance({ name, port: b.port });
    await whenDiscovered(plugin, 'sessions', (s) => s.targets === 2);
    expect(new Set(await whoAnswers(gw.url, 4))).toEqual(new Set(['a', 'b']));

    await consul.setHealth(idA, 'critical');
    await whenDiscovered(plugin, 'sessions', (s) => s.targets === 1);
    expect(new Set(await whoAnswers(gw.url, 4))).toEqual(new Set(['b']));

    await consul.setHealth(idA, 'passing');
    await whenDiscovered(plugin, 'sessions', (s) => s.targets === 2);
    await consul.deregister(idB);
    await whenDiscovered(plugin, 'sessions', (s) => s.targets === 1);
    expect(new Set(await whoAnswers(gw.url, 4))).toEqual(new Set(['a']));
    expect(b.seen.length).toBeGreaterThan(0);
  });

  it.skipIf(realAgent)(
    'keeps serving across a config reload while Consul is down (known targets carry over)',
    async () => {
      const name = consul.unique('sessions');
      const a = await upstream('a');
      const plugin = consulMesh(mesh());
      const gw = await gatewayFor(name, plugin);
      await consul.registerInstance({ name, port: a.port });
      await whenDiscovered(plugin, 'sessions', (s) => s.targets === 1);
      await consul.server!.stop();
      await gw.gateway.reload({
        services: { sessions: { discovery: 'consul', consul: { service: name }, balancer: 'round-robin' } },
        routes: [
          { prefix: '/sessions', service: 'sessions', auth: 'public' },
          { prefix: '/v2/sessions', service: 'sessions', auth: 'public' },
        ],
        mesh: mesh(),
      });
      await whenDiscovered(plugin, 'sessions', (s) => s.stale);
      expect(await whoAnswers(gw.url, 2)).toEqual(['a', 'a']);
      const res = await send(`${gw.url}/v2/sessions/ping`);
      expect(res.status).toBe(200);
    },
  );

  it.skipIf(realAgent)('keeps traffic flowing to the last known targets while Consul is down', async () => {
    const server = consul.server!;
    const name = consul.unique('sessions');
    const [a, b] = [await upstream('a'), await upstream('b')];
    const plugin = consulMesh(mesh());
    const gw = await gatewayFor(name, plugin);
    await consul.registerInstance({ name, port: a.port });
    await consul.registerInstance({ name, port: b.port });
    await whenDiscovered(plugin, 'sessions', (s) => s.targets === 2);

    await server.stop();
    await whenDiscovered(plugin, 'sessions', (s) => s.stale);
    expect(new Set(await whoAnswers(gw.url, 4))).toEqual(new Set(['a', 'b']));

    const health = (await send(`${gw.url}/health`)).json<{
      status: string;
      components: Record<string, { healthy: boolean; detail: Record<string, unknown> }>;
    }>();
    expect(health.status).toBe('degraded');
    expect(health.components.consul).toMatchObject({
      healthy: false,
      detail: { stale: ['sessions'], services: { sessions: { stale: true, reason: 'error', targets: 2 } } },
    });
    const metrics = (await send(`${gw.url}/metrics`)).text;
    expect(metrics).toMatch(/^lucid_gateway_consul_stale_services 1$/m);
    expect(metrics).toMatch(/^lucid_gateway_consul_errors_total\{operation="health"\} [1-9]\d*$/m);

    await server.start();
    await whenDiscovered(plugin, 'sessions', (s) => !s.stale);
    expect((await send(`${gw.url}/metrics`)).text).toMatch(/^lucid_gateway_consul_stale_services 0$/m);
    expect((await send(`${gw.url}/health`)).json()).toMatchObject({ status: 'healthy' });
  });

  it('appears in Consul with a passing check on /health/ready while running, and leaves on close', async () => {
    const name = consul.unique('lucid-api-gateway');
    const id = `${name}-1`;
    const port = await freePort();
    const plugin = consulMesh(
      mesh({
        register: { name, id, port, tags: ['edge'], meta: { team: 'core' }, check: { interval: '200ms' } },
      }),
    );
    const sink = logSink();
    const gateway: Gateway = createGateway(
      { services: {}, mesh: mesh() },
      {
        plugins: [plugin],
        logger: createLogger({ level: 'info', pretty: false, accessLog: false }, sink.stream),
      },
    );
    let closed = false;
    cleanup.push(async () => {
      if (!closed) await gateway.close({ graceMs: 500 });
    });
    // Follow the gateway's own service in Consul: it shows up once its check passes.
    const follower = consulDiscovery(mesh());
    cleanup.push(() => follower.close());
    const seen: string[][] = [];
    follower.watch('self', (t) => seen.push(t.map((x) => x.id)), {
      service: serviceSchema.parse({ discovery: 'consul', consul: { service: name } }),
    });

    await gateway.listen({ port, host: '127.0.0.1' });
    const services = await consul.agentServices();
    expect(services[id]).toMatchObject({ Service: name, Port: port, Tags: ['edge'], Meta: { team: 'core' } });
    const checks = await consul.agentChecks();
    const check = Object.values(checks).find((c) => c.ServiceID === id);
    expect(check?.HTTP ?? check?.Definition?.HTTP).toBe(`http://127.0.0.1:${port}/health/ready`);

    await until(
      () => seen.at(-1)?.length === 1,
      (notify) => follower.subscribe(notify),
    );
    expect(seen.at(-1)).toEqual([`http://127.0.0.1:${port}`]);
    expect((await plugin.health()).detail).toMatchObject({ registration: { registered: true, id } });

    await gateway.close({ graceMs: 500 });
    closed = true;
    expect((await consul.agentServices())[id]).toBeUndefined();
  });

  it.skipIf(realAgent)('registers once Consul comes back when it was down at start', async () => {
    const server = consul.server!;
    const name = consul.unique('lucid-api-gateway');
    const id = `${name}-late`;
    const port = await freePort();
    const plugin = consulMesh(mesh({ register: { name, id, port } }));
    await server.stop();
    const gw = createGateway(
      { services: {} },
      { plugins: [plugin], logger: createLogger({ level: 'silent', pretty: false, accessLog: false }) },
    );
    cleanup.push(() => gw.close({ graceMs: 500 }));
    await gw.listen({ port, host: '127.0.0.1' });
    expect((await plugin.health()).detail).toMatchObject({ registration: { registered: false } });

    const follower = consulDiscovery(mesh());
    cleanup.push(() => follower.close());
    let targets: string[] = [];
    follower.watch('self', (t) => (targets = t.map((x) => x.id)), {
      service: serviceSchema.parse({ discovery: 'consul', consul: { service: name } }),
    });
    await server.start();
    await until(
      () => targets.length === 1,
      (notify) => follower.subscribe(notify),
    );
    expect(targets).toEqual([`http://127.0.0.1:${port}`]);
    expect((await plugin.health()).detail).toMatchObject({ registration: { registered: true, id } });
  });
});

describe('consul connect through the gateway', () => {
  let consul: ConsulUnderTest;
  let pki: Pki;
  const cleanup: Array<() => Promise<unknown>> = [];
  const trustDomain = '7f42f496-fbc7-8692-05ed-334aa5340c1e.consul';

  beforeEach(async () => {
    pki = await createPki(trustDomain);
    consul = await consulUnderTest({ pki: { pki, trustDomain } });
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
    await consul.close();
    await pki.close();
  });

  /** A serial number as one hex string: Node drops leading zero bytes that Consul's `aa:bb` form keeps. */
  const serialOf = (serial: string | undefined) =>
    serial
      ?.replaceAll(':', '')
      .toLowerCase()
      .replace(/^0+(?=.)/, '');

  /** An HTTPS upstream that presents `as`'s leaf and requires a client certificate from the mesh CA. */
  async function meshUpstream(as: string) {
    const [leaf, roots] = [await consul.leaf(as), await consul.roots()];
    const clients: Array<{ uri: string | undefined; serial: string }> = [];
    const sockets = new Set<Socket>();
    const server: HttpsServer = createHttpsServer(
      {
        cert: leaf.CertPEM,
        key: leaf.PrivateKeyPEM,
        ca: roots.Roots.map((r) => r.RootCert),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        clients.push({ uri: peer.subjectaltname, serial: peer.serialNumber });
        const body = JSON.stringify({ upstream: as });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
    );
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    cleanup.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return { port, clients };
  }

  it('presents the gateway leaf to the upstream, verifies its SPIFFE id, and follows leaf rotation', async () => {
    const name = consul.unique('sessions');
    const identity = consul.unique('lucid-api-gateway');
    const up = await meshUpstream(name);
    await consul.registerInstance({ name, port: up.port, native: true });
    const plugin = consulMesh({
      consul: { url: consul.url, token: consul.token, wait: '10s', connect: { service: identity } },
    });
    const gw = await startGateway(
      {
        services: { sessions: { discovery: 'consul', consul: { service: name } } },
        routes: [{ prefix: '/sessions', service: 'sessions', auth: 'public' }],
      },
      [plugin],
    );
    cleanup.push(() => gw.close());
    await whenDiscovered(plugin, 'sessions', (s) => s.targets === 1);

    const res = await send(`${gw.url}/sessions/ping`);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ upstream: name });
    const gatewayLeaf = await consul.leaf(identity);
    expect(up.clients[0]?.uri).toContain(`URI:spiffe://${trustDomain}/ns/default/dc/dc1/svc/${identity}`);
    expect(serialOf(up.clients[0]?.serial)).toBe(serialOf(gatewayLeaf.SerialNumber));

    if (consul.server) {
      const index = await consul.server.rotateLeaf(identity);
      await consul.server.readFrom(`/v1/agent/connect/ca/leaf/${identity}`, index);
      const rotated = await consul.leaf(identity);
      expect(rotated.SerialNumber).not.toBe(gatewayLeaf.SerialNumber);
      expect((await send(`${gw.url}/sessions/ping`)).status).toBe(200);
      expect(serialOf(up.clients.at(-1)?.serial)).toBe(serialOf(rotated.SerialNumber));
    }
  });

  it('refuses an upstream whose certificate names another service', async () => {
    const name = consul.unique('sessions');
    const impostor = await meshUpstream(consul.unique('billing'));
    await consul.registerInstance({ name, port: impostor.port, native: true });
    const plugin = consulMesh({
      consul: {
        url: consul.url,
        token: consul.token,
        wait: '10s',
        connect: { service: consul.unique('gw') },
      },
    });
    const gw = await startGateway(
      {
        services: { sessions: { discovery: 'consul', consul: { service: name }, retry: { attempts: 0 } } },
        routes: [{ prefix: '/sessions', service: 'sessions', auth: 'public' }],
      },
      [plugin],
    );
    cleanup.push(() => gw.close());
    await whenDiscovered(plugin, 'sessions', (s) => s.targets === 1);

    const res = await send(`${gw.url}/sessions/ping`);
    expect(res.status).toBe(502);
    expect(res.json()).toMatchObject({ code: 'GW_UPSTREAM_ERROR' });
    expect(impostor.clients).toEqual([]);
  });
});
