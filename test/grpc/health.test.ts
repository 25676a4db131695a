import { until } from '@lucid/test-kit';
import { call, echoClient, type GrpcServer, grpc, startGrpcServer } from '@lucid/test-kit/grpc';
import { afterEach, describe, expect, it } from 'vitest';
import { type GrpcGateway, startGrpcGateway } from './support/gateway.js';

describe('gRPC health checks (services.X.health.grpc)', () => {
  let upstream: GrpcServer | undefined;
  let gw: GrpcGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    await upstream?.close();
    gw = undefined;
    upstream = undefined;
  });

  async function start(grpcCheck: true | string) {
    upstream = await startGrpcServer();
    gw = await startGrpcGateway({
      logging: { level: 'silent', pretty: false, accessLog: false },
      services: {
        echo: {
          targets: [`h2c://${upstream.address}`],
          health: {
            grpc: grpcCheck,
            interval: '100ms',
            timeout: '2s',
            healthyThreshold: 1,
            unhealthyThreshold: 1,
          },
        },
      },
      routes: [{ prefix: '/lucid.test.Echo', service: 'echo', auth: 'public', stripPrefix: false }],
    });
    return { upstream, gw };
  }

  const echoState = async () => (await gw!.gateway.health()).services.echo;

  it('asks Health/Check; NOT_SERVING takes the target out of rotation, SERVING brings it back', async () => {
    const { upstream, gw } = await start(true);
    expect(await echoState()).toBe(true);
    expect(upstream.calls.some((c) => c.path === '/grpc.health.v1.Health/Check')).toBe(true);
    upstream.setHealth('', 'NOT_SERVING');
    await until(echoState, (s) => s === false);
    const series = `lucid_gateway_upstream_target_healthy{service="echo",target="h2c://${upstream.address}"}`;
    expect(await gw.gateway.registry.metrics()).toContain(`${series} 0`);
    upstream.setHealth('', 'SERVING');
    await until(echoState, (s) => s === true);
    expect(await gw.gateway.registry.metrics()).toContain(`${series} 1`);
    const client = echoClient(gw.address);
    try {
      expect((await call(client, 'Unary', [{ text: 'back' }])).code).toBe(grpc.status.OK);
    } finally {
      client.close();
    }
  });

  it('asks about the named service; an unknown name is down', async () => {
    const { upstream } = await start('lucid.test.Echo');
    expect(await echoState()).toBe(false); // the server knows no such name yet (NOT_FOUND)
    upstream.setHealth('lucid.test.Echo', 'SERVING');
    await until(echoState, (s) => s === true);
  });

  it('a target that does not speak gRPC is down', async () => {
    upstream = await startGrpcServer();
    const address = upstream.address;
    await upstream.close();
    upstream = undefined;
    gw = await startGrpcGateway({
      logging: { level: 'silent', pretty: false, accessLog: false },
      services: { echo: { targets: [`h2c://${address}`], health: { grpc: true, timeout: '1s' } } },
      routes: [{ prefix: '/x', service: 'echo', auth: 'public' }],
    });
    expect(await echoState()).toBe(false);
  });
});
