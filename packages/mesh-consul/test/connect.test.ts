import { composeConfigSchema } from '@lucid/gateway-core';
import {
  type ConsulUnderTest,
  consulUnderTest,
  createPki,
  type Pki,
  realAgent,
} from '@lucid/test-kit/consul';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConsulApi } from '../src/client/consul-client.js';
import { parseMeshConfig } from '../src/config/parse.js';
import { meshPluginSchema } from '../src/config/plugin-schema.js';
import { type ConnectTls, createConnectTls } from '../src/connect/connect-tls.js';
import { createMeshContext } from '../src/context.js';
import { consulMesh } from '../src/index.js';

// A service as the gateway parses it with this plugin: `discovery: consul` and its `consul` options.
const serviceSchema = composeConfigSchema([meshPluginSchema]).service;

const trustDomain = '0a1b2c3d-0000-4000-8000-000000000001.consul';
const meshService = serviceSchema.parse({
  discovery: 'consul',
  consul: { service: 'billing', ns: 'team-a' },
});

describe('connect TLS material', () => {
  let consul: ConsulUnderTest;
  let pki: Pki;
  let connect: ConnectTls | undefined;
  let destroy: (() => void) | undefined;

  beforeEach(async () => {
    pki = await createPki(trustDomain);
    consul = await consulUnderTest({ pki: { pki, trustDomain } });
  });
  afterEach(async () => {
    await connect?.stop();
    destroy?.();
    await consul.close();
    await pki.close();
  });

  function start(identity: string, extra: Record<string, unknown> = {}) {
    const config = parseMeshConfig({
      consul: { url: consul.url, token: consul.token, wait: '10s', ...extra },
    });
    const ctx = createMeshContext(config, createConsulApi(config));
    destroy = () => ctx.api.destroy();
    connect = createConnectTls(ctx, identity);
    return connect;
  }

  it('gives the leaf, every root, and a SPIFFE check for the upstream service', async () => {
    const identity = consul.unique('gw');
    const tls = start(identity);
    const provider = tls.provider('payments', meshService);
    expect(provider.current()).toBeUndefined();
    await tls.start();
    const current = provider.current()!;
    const [leaf, roots] = [await consul.leaf(identity), await consul.roots()];
    expect(current.cert).toBe(leaf.CertPEM);
    expect(current.key).toBe(leaf.PrivateKeyPEM);
    expect(current.ca).toEqual(roots.Roots.map((r) => r.RootCert));
    expect(current.rejectUnauthorized).toBe(true);
    expect(provider.current()).toBe(current);
    // The expected identity: the Consul service name and namespace from the service config, the agent's datacenter.
    const want = `spiffe://${roots.TrustDomain}/ns/team-a/dc/dc1/svc/billing`;
    expect(
      current.checkServerIdentity!('10.0.0.1', { subjectaltname: `URI:${want}` } as never),
    ).toBeUndefined();
    expect(
      current.checkServerIdentity!('10.0.0.1', {
        subjectaltname: `URI:spiffe://${roots.TrustDomain}/ns/default/dc/dc1/svc/billing`,
      } as never),
    ).toBeInstanceOf(Error);
    expect(await tls.health()).toMatchObject({
      healthy: true,
      detail: { connect: 'ready', version: current.version },
    });
  });

  it.skipIf(realAgent)('changes version when the CA rotates, trusting old and new roots', async () => {
    const server = consul.server!;
    const identity = consul.unique('gw');
    const tls = start(identity);
    await tls.start();
    const provider = tls.provider('billing', meshService);
    const before = provider.current()!;
    const rootsIndex = await server.rotateCa();
    const leafIndex = Number(
      (await consul.raw('GET', `/v1/agent/connect/ca/leaf/${identity}`)).headers['x-consul-index'],
    );
    await server.readFrom('/v1/agent/connect/ca/roots', rootsIndex);
    await server.readFrom(`/v1/agent/connect/ca/leaf/${identity}`, leafIndex);
    const after = provider.current()!;
    expect(after.version).not.toBe(before.version);
    expect(after.ca).toHaveLength(2);
    expect(after.cert).not.toBe(before.cert);
  });

  it.skipIf(realAgent)('reports an agent without Connect as not ready', async () => {
    const plain = await consulUnderTest();
    try {
      const config = parseMeshConfig({ consul: { url: plain.url, backoff: { min: 20, max: 50 } } });
      const ctx = createMeshContext(config, createConsulApi(config));
      destroy = () => ctx.api.destroy();
      connect = createConnectTls(ctx, 'gw');
      await connect.start();
      expect(connect.provider('billing', meshService).current()).toBeUndefined();
      expect(await connect.health()).toMatchObject({
        healthy: false,
        detail: { connect: 'waiting for certificates', lastError: 'HTTP 500' },
      });
    } finally {
      await connect?.stop();
      connect = undefined;
      await plain.close();
    }
  });
});

describe('consulMesh upstreamTls', () => {
  it('covers mesh services only, and leaves services with their own tls to core', async () => {
    const on = consulMesh({ consul: { connect: {} } });
    const off = consulMesh({});
    try {
      expect(on.upstreamTls!('billing', meshService)).toBeDefined();
      expect(on.upstreamTls!('static', serviceSchema.parse({ targets: ['http://a:1'] }))).toBeUndefined();
      expect(
        on.upstreamTls!('own', serviceSchema.parse({ discovery: 'consul', tls: { ca: '/etc/ca.pem' } })),
      ).toBeUndefined();
      expect(off.upstreamTls!('billing', meshService)).toBeUndefined();
    } finally {
      await on.close!();
      await off.close!();
    }
  });
});
