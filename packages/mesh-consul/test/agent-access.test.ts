import { composeConfigSchema } from '@lucid/gateway-core';
import {
  type ConsulTestServer,
  consulCall,
  createPki,
  type Pki,
  startConsulTestServer,
  until,
} from '@lucid/test-kit/consul';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { meshPluginSchema } from '../src/config/plugin-schema.js';
import { consulDiscovery } from '../src/index.js';

// A service as the gateway parses it with this plugin: `discovery: consul` and its `consul` options.
const serviceSchema = composeConfigSchema([meshPluginSchema]).service;

const svc = serviceSchema.parse({ discovery: 'consul' });

/** Watches `sessions` and resolves with its first answer: the targets, or the error that made it stale. */
async function firstAnswer(discovery: ReturnType<typeof consulDiscovery>) {
  let targets: string[] | undefined;
  discovery.watch(
    'sessions',
    (t) => {
      targets = t.map((x) => x.id);
    },
    { service: svc },
  );
  await until(
    () => targets !== undefined || discovery.state().sessions?.stale === true,
    (notify) => discovery.subscribe(notify),
  );
  return { targets, state: discovery.state().sessions };
}

describe('access to the agent', () => {
  const opened: Array<{ close(): Promise<unknown> }> = [];
  const saved = { addr: process.env.CONSUL_HTTP_ADDR, token: process.env.CONSUL_HTTP_TOKEN };
  let pki: Pki;

  beforeAll(async () => {
    pki = await createPki('11111111-2222-3333-4444-555555555555.consul');
  });
  afterAll(async () => {
    await pki.close();
  });
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.close();
    for (const [key, value] of [
      ['CONSUL_HTTP_ADDR', saved.addr],
      ['CONSUL_HTTP_TOKEN', saved.token],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  const open = <T extends { close(): Promise<unknown> }>(thing: T): T => {
    opened.push(thing);
    return thing;
  };

  async function serverWith(
    opts: Parameters<typeof startConsulTestServer>[0],
    call: Parameters<typeof consulCall>[4],
  ) {
    const server: ConsulTestServer = open(await startConsulTestServer(opts));
    await consulCall(
      server.url,
      'PUT',
      '/v1/agent/service/register',
      {
        Name: 'sessions',
        ID: 'sessions-1',
        Address: '127.0.0.1',
        Port: 19_001,
        Check: { TTL: '10m', Status: 'passing' },
      },
      call,
    );
    return server;
  }

  it('sends the ACL token, and a missing token makes discovery stale with the 403', async () => {
    const server = await serverWith({ token: 'acl-secret' }, { token: 'acl-secret' });
    const good = open(
      consulDiscovery({ consul: { url: server.url, token: 'acl-secret', backoff: { min: 20, max: 50 } } }),
    );
    expect((await firstAnswer(good)).targets).toEqual(['http://127.0.0.1:19001']);
    expect(
      server.requests.filter((r) => r.path.startsWith('/v1/health/')).every((r) => r.token === 'acl-secret'),
    ).toBe(true);

    delete process.env.CONSUL_HTTP_TOKEN;
    const bad = open(consulDiscovery({ consul: { url: server.url, backoff: { min: 20, max: 50 } } }));
    expect((await firstAnswer(bad)).state).toMatchObject({ stale: true, lastError: 'HTTP 403' });
  });

  it('honours CONSUL_HTTP_ADDR and CONSUL_HTTP_TOKEN', async () => {
    const server = await serverWith({ token: 'from-env' }, { token: 'from-env' });
    process.env.CONSUL_HTTP_ADDR = `127.0.0.1:${server.port}`;
    process.env.CONSUL_HTTP_TOKEN = 'from-env';
    const discovery = open(consulDiscovery({}));
    expect((await firstAnswer(discovery)).targets).toEqual(['http://127.0.0.1:19001']);
  });

  it('speaks TLS to the agent with its CA and a client certificate (files or PEM)', async () => {
    const ca = await pki.createCa('Agent CA');
    const serverCert = await pki.issue(ca, { ips: ['127.0.0.1'], dns: ['localhost'] }, 'consul-server');
    const clientCert = await pki.issue(ca, { dns: ['gateway'] }, 'gateway');
    const tls = { ca: ca.cert, cert: clientCert.cert, key: clientCert.key };
    const server = await serverWith(
      { tls: { cert: serverCert.cert, key: serverCert.key, ca: ca.cert } },
      { tls },
    );
    expect(server.url).toMatch(/^https:/);

    const files = {
      ca: await pki.file('agent-ca.pem', ca.cert),
      cert: await pki.file('gateway.pem', clientCert.cert),
      key: await pki.file('gateway.key', clientCert.key),
    };
    const withFiles = open(
      consulDiscovery({ consul: { url: server.url, tls: files, backoff: { min: 20, max: 50 } } }),
    );
    expect((await firstAnswer(withFiles)).targets).toEqual(['http://127.0.0.1:19001']);

    const withPem = open(
      consulDiscovery({ consul: { url: server.url, tls, backoff: { min: 20, max: 50 } } }),
    );
    expect((await firstAnswer(withPem)).targets).toEqual(['http://127.0.0.1:19001']);

    // Without a client certificate the agent refuses the handshake.
    const noClientCert = open(
      consulDiscovery({ consul: { url: server.url, tls: { ca: ca.cert }, backoff: { min: 20, max: 50 } } }),
    );
    expect((await firstAnswer(noClientCert)).state?.stale).toBe(true);
  });
});
