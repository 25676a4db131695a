import { hostname } from 'node:os';
import { createGateway, createLogger, type Gateway } from '@lucid/gateway-core';
import { freePort } from '@lucid/test-kit';
import { type ConsulUnderTest, consulUnderTest } from '@lucid/test-kit/consul';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildRegistration, consulRegistration, registerConfigSchema } from '../src/index.js';

const silent = () => createLogger({ level: 'silent', pretty: false, accessLog: false });

describe('registration', () => {
  let consul: ConsulUnderTest;
  const gateways: Gateway[] = [];

  beforeEach(async () => {
    consul = await consulUnderTest();
  });
  afterEach(async () => {
    for (const g of gateways.splice(0)) await g.close({ graceMs: 200 });
    await consul.close();
  });

  it('derives id, port and check address from the gateway when the config leaves them out', () => {
    const gateway = createGateway({ server: { host: '0.0.0.0', port: 8088 } }, { logger: silent() });
    gateways.push(gateway);
    const body = buildRegistration(registerConfigSchema.parse({}), gateway);
    expect(body).toEqual({
      name: 'lucid-api-gateway',
      id: `lucid-api-gateway-${hostname()}-8088`,
      tags: [],
      meta: {},
      port: 8088,
      check: {
        name: 'lucid-api-gateway readiness',
        http: 'http://127.0.0.1:8088/health/ready',
        interval: '10000ms',
        timeout: '5000ms',
        deregistercriticalserviceafter: '600000ms',
      },
    });
    const explicit = buildRegistration(
      registerConfigSchema.parse({ address: 'fd00::7', port: 9000, check: { path: '/health/live' } }),
      gateway,
    );
    expect(explicit).toMatchObject({
      address: 'fd00::7',
      port: 9000,
      check: { http: 'http://[fd00::7]:9000/health/live' },
    });
  });

  it('works on its own: start registers, stop deregisters', async () => {
    const port = await freePort();
    const name = consul.unique('edge');
    const gateway = createGateway({ server: { host: '127.0.0.1', port } }, { logger: silent() });
    gateways.push(gateway);
    await gateway.listen();
    const registration = consulRegistration({
      consul: { url: consul.url, token: consul.token, register: { name } },
    });
    await registration.start(gateway);
    const id = registration.registration!.id;
    expect((await consul.agentServices())[id]).toMatchObject({ Service: name, Port: port });
    expect(await registration.health()).toEqual({ healthy: true, detail: { registered: true, id } });
    await registration.stop();
    expect((await consul.agentServices())[id]).toBeUndefined();
  });
});
