import type { OutgoingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { isGatewayError } from '../errors.js';
import type { ComponentHealth, RoutedContext } from '../types.js';
import { type HealthDeps, healthHandler, overallStatus } from './health.js';

function fakeCtx(upstreamPath: string, method = 'GET') {
  const out: { status?: number; headers?: OutgoingHttpHeaders; body?: string } = {};
  const ctx = {
    req: { method },
    res: {
      writeHead(status: number, headers: OutgoingHttpHeaders) {
        out.status = status;
        out.headers = headers;
      },
      end(body?: string) {
        out.body = body;
      },
    },
    path: `/health${upstreamPath === '/' ? '' : upstreamPath}`,
    route: { upstreamPath },
    requestId: 'req-1',
    responseHeaders: { 'access-control-allow-origin': 'https://app.lucid.dev' },
  } as unknown as RoutedContext;
  return { ctx, out };
}

function deps(over: Partial<HealthDeps> = {}): HealthDeps {
  return {
    name: 'lucid-api-gateway',
    version: '1.2.3',
    services: () => ({ auth: true, sessions: true }),
    components: async () => ({}),
    ready: () => true,
    ...over,
  };
}

describe('overallStatus', () => {
  const up: ComponentHealth = { healthy: true };
  const down: ComponentHealth = { healthy: false };
  it.each([
    [{ a: true, b: true }, {}, 'healthy'],
    [{ a: true, b: false }, {}, 'degraded'],
    [{ a: false, b: false }, {}, 'unhealthy'],
    [{ a: true }, { redis: down }, 'degraded'],
    [{ a: false }, { redis: up }, 'unhealthy'],
    [{}, {}, 'healthy'],
    [{}, { redis: down }, 'degraded'],
  ] as const)('%j with components %j is %s', (services, components, expected) => {
    expect(overallStatus(services, components)).toBe(expected);
  });
});

describe('healthHandler', () => {
  it('reports every service and the overall status', async () => {
    const { ctx, out } = fakeCtx('/');
    await healthHandler(deps({ services: () => ({ auth: true, sessions: false }) }))(ctx);
    expect(out.status).toBe(200);
    expect(JSON.parse(out.body!)).toEqual({
      status: 'degraded',
      service: 'lucid-api-gateway',
      version: '1.2.3',
      services: { auth: true, sessions: false },
    });
    expect(out.headers).toMatchObject({
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'x-request-id': 'req-1',
      'access-control-allow-origin': 'https://app.lucid.dev',
    });
  });

  it('answers 503 when no service is up', async () => {
    const { ctx, out } = fakeCtx('/');
    await healthHandler(deps({ services: () => ({ auth: false }) }))(ctx);
    expect(out.status).toBe(503);
    expect(JSON.parse(out.body!).status).toBe('unhealthy');
  });

  it('includes components when there are some', async () => {
    const { ctx, out } = fakeCtx('/');
    await healthHandler(deps({ components: async () => ({ redis: { healthy: false } }) }))(ctx);
    expect(out.status).toBe(200);
    expect(JSON.parse(out.body!)).toMatchObject({
      status: 'degraded',
      components: { redis: { healthy: false } },
    });
  });

  it('answers /live while the process runs', async () => {
    const { ctx, out } = fakeCtx('/live');
    await healthHandler(deps({ ready: () => false, services: () => ({ a: false }) }))(ctx);
    expect([out.status, JSON.parse(out.body!)]).toEqual([200, { status: 'up' }]);
  });

  it('answers /ready with 503 until ready', async () => {
    let ready = false;
    const handler = healthHandler(deps({ ready: () => ready }));
    const before = fakeCtx('/ready');
    await handler(before.ctx);
    expect(before.out.status).toBe(503);
    ready = true;
    const after = fakeCtx('/ready');
    await handler(after.ctx);
    expect(after.out.status).toBe(200);
  });

  it('sends headers only to HEAD', async () => {
    const { ctx, out } = fakeCtx('/', 'HEAD');
    await healthHandler(deps())(ctx);
    expect(out.status).toBe(200);
    expect(out.body).toBeUndefined();
    expect(Number(out.headers?.['content-length'])).toBeGreaterThan(0);
  });

  it('does not know other sub-paths', async () => {
    const { ctx } = fakeCtx('/other');
    const err = await healthHandler(deps())(ctx).catch((e: unknown) => e);
    expect(isGatewayError(err) && err.code).toBe('GW_ROUTE_NOT_FOUND');
  });
});
