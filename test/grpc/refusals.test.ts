import type { GatewayPlugin } from '@lucid/gateway-core';
import { jwtAuth } from '@lucid/middleware-auth';
import { rateLimit } from '@lucid/middleware-ratelimit';
import { h2Request } from '@lucid/test-kit';
import { call, echoClient, type GrpcServer, grpc, startGrpcServer } from '@lucid/test-kit/grpc';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, hs256 } from '../security/support/token.js';
import { startGrpcGateway } from './support/gateway.js';

let upstream: GrpcServer;
beforeAll(async () => {
  upstream = await startGrpcServer();
});
afterAll(async () => {
  await upstream.close();
});

describe('the gateway refuses gRPC calls in gRPC', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start(
    routes: unknown[],
    plugins: GatewayPlugin[] = [],
    extra: Record<string, unknown> = {},
  ) {
    const gw = await startGrpcGateway(
      {
        logging: { level: 'info', pretty: false, accessLog: true },
        services: { echo: { targets: [`h2c://${upstream.address}`], health: false } },
        routes,
        ...extra,
      },
      plugins,
    );
    cleanups.push(() => gw.close());
    const client = echoClient(gw.address);
    cleanups.push(() => client.close());
    return { gw, client };
  }

  it('an unknown method is UNIMPLEMENTED, with the request id and a message', async () => {
    const { client, gw } = await start([{ prefix: '/other.Service', service: 'echo', auth: 'public' }]);
    const result = await call(client, 'Unary', [{ text: 'hi' }]);
    expect(result.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(result.details).toBe('no route for /lucid.test.Echo/Unary');
    expect(String(result.headers?.get('x-request-id')[0] ?? result.trailers?.get('x-request-id')[0])).toMatch(
      /./,
    );
    expect(upstream.calls.length).toBe(0);
    const line = gw.logs.find((l) => l.msg === 'request');
    expect(line).toMatchObject({ status: 200, grpcStatus: grpc.status.UNIMPLEMENTED, route: null });
    const metrics = await gw.gateway.registry.metrics();
    expect(metrics).toContain('lucid_gateway_grpc_responses_total{route="unmatched",code="UNIMPLEMENTED"} 1');
  });

  it('a wrong method on a route that lists its methods is UNIMPLEMENTED', async () => {
    const { client } = await start([
      { prefix: '/lucid.test.Echo', service: 'echo', auth: 'public', methods: ['GET'] },
    ]);
    expect((await call(client, 'Unary', [{}])).code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('without a token UNAUTHENTICATED, with a wrong scope PERMISSION_DENIED, for every kind of call', async () => {
    const { client } = await start(
      [{ prefix: '/lucid.test.Echo', service: 'echo', scopes: ['echo'] }],
      [jwtAuth(AUTH)],
    );
    for (const method of ['Unary', 'ServerStream', 'ClientStream', 'Bidi'] as const) {
      const none = await call(client, method, [{ text: 'x' }]);
      expect(none.code, method).toBe(grpc.status.UNAUTHENTICATED);
      const wrong = await call(client, method, [{ text: 'x' }], {
        metadata: { authorization: `Bearer ${hs256({ sub: 'u1', scope: 'read' })}` },
      });
      expect(wrong.code, method).toBe(grpc.status.PERMISSION_DENIED);
      expect(wrong.details, method).toMatch(/scope/);
    }
    expect(upstream.calls.length).toBe(0);
  });

  it('past the rate limit RESOURCE_EXHAUSTED, with Retry-After', async () => {
    const { client } = await start(
      [{ prefix: '/lucid.test.Echo', service: 'echo', auth: 'public' }],
      [rateLimit({ keyBy: 'ip', tiers: { free: '1/min' } })],
    );
    await call(client, 'Unary', [{ text: 'first' }]);
    const second = await call(client, 'Unary', [{ text: 'second' }]);
    expect(second.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(Number((second.trailers ?? second.headers)?.get('retry-after')[0])).toBeGreaterThan(0);
  });

  it('answers trailers-only on the wire: one HEADERS frame with END_STREAM, HTTP 200, no body; HTTP/1.1 gets the same headers', async () => {
    const { gw } = await start([{ prefix: '/other.Service', service: 'echo', auth: 'public' }], [], {
      server: { cors: { origins: ['https://app.example'] } },
    });
    const frame = Buffer.from([0, 0, 0, 0, 0]);
    const h2 = await h2Request(`${gw.url}/lucid.test.Echo/Unary`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc+proto', te: 'trailers', origin: 'https://app.example' },
      body: frame,
    });
    expect(h2.endedWithHeaders).toBe(true);
    expect(h2.status).toBe(200);
    expect(h2.body.length).toBe(0);
    expect(h2.headers).toMatchObject({
      'content-type': 'application/grpc',
      'grpc-status': '12',
      'grpc-message': 'no route for /lucid.test.Echo/Unary',
      'access-control-allow-origin': 'https://app.example',
    });
    expect(h2.headers['x-request-id']).toMatch(/./);
    const h1 = await fetch(`${gw.url}/lucid.test.Echo/Unary`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc' },
      body: frame,
    });
    expect(h1.status).toBe(200);
    expect(h1.headers.get('content-type')).toBe('application/grpc');
    expect(h1.headers.get('grpc-status')).toBe('12');
    expect((await h1.arrayBuffer()).byteLength).toBe(0);
  });

  it('a request that is not gRPC still gets problem+json', async () => {
    const { gw } = await start([{ prefix: '/other.Service', service: 'echo', auth: 'public' }]);
    const res = await fetch(`${gw.url}/lucid.test.Echo/Unary`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.headers.get('grpc-status')).toBeNull();
  });

  it('a malformed grpc-timeout is INVALID_ARGUMENT and never reaches the upstream', async () => {
    const { client } = await start([{ prefix: '/lucid.test.Echo', service: 'echo', auth: 'public' }]);
    const before = upstream.calls.length;
    // grpc-js lets a caller set the header itself.
    const result = await call(client, 'Unary', [{}], { metadata: { 'grpc-timeout': '123456789m' } });
    expect(result.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(upstream.calls.length).toBe(before);
  });
});
