import { composeConfigSchema, type Route, Router, serviceSchema } from '@lucid/gateway-core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { gatewayPath, toGatewayPaths } from './gateway-paths.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON read back from the gateway; the assertions check its shape
type Json = any;

// Routes as an authenticating plugin extends them (its `claims` key, which it describes itself).
const composed = composeConfigSchema([
  {
    name: 'claims',
    route: { claims: z.record(z.string(), z.string()).optional() },
    describeRoute: (r) =>
      r.claims ? { extensions: { 'x-required-claims': r.claims }, mayForbid: true } : undefined,
  },
]);
const routeSchema = composed.route;
const describe_ = (r: Route) => composed.describeRoute(r.config);

const service = serviceSchema.parse({ targets: ['http://127.0.0.1:1'] });

function route(config: Record<string, unknown>): Route {
  const parsed = routeSchema.parse(config);
  return {
    id: parsed.prefix,
    kind: 'proxy',
    exact: false,
    config: parsed,
    service,
    serviceName: parsed.service,
  };
}

const op = (id: string) => ({ operationId: id, responses: { '200': { description: 'ok' } } });

describe('gatewayPath', () => {
  it('puts a stripped prefix in front, a :param becoming {param}', () => {
    expect(gatewayPath('/login', route({ prefix: '/auth', service: 'a' }))).toBe('/auth/login');
    expect(gatewayPath('/', route({ prefix: '/auth', service: 'a' }))).toBe('/auth');
    expect(gatewayPath('/x', route({ prefix: '/', service: 'a' }))).toBe('/x');
    expect(gatewayPath('/orders', route({ prefix: '/t/:tenant', service: 'a' }))).toBe('/t/{tenant}/orders');
  });

  it('keeps the path when the prefix is not stripped, and only below the prefix', () => {
    const r = route({ prefix: '/users', service: 'a', stripPrefix: false });
    expect(gatewayPath('/users/{id}', r)).toBe('/users/{id}');
    expect(gatewayPath('/users', r)).toBe('/users');
    expect(gatewayPath('/admin/stats', r)).toBeUndefined();
    expect(gatewayPath('/usersx', r)).toBeUndefined();
  });
});

describe('toGatewayPaths', () => {
  it('keeps an operation only where the router really sends it to this route', () => {
    const users = route({ prefix: '/users', service: 'users', methods: ['GET'] });
    // Another service owns a deeper prefix: its paths are not the users service's to document.
    const avatars = route({ prefix: '/users/avatars', service: 'avatars' });
    const { id, config } = route({ prefix: '/users/health', service: 'builtin:x' });
    const builtin: Route = {
      id,
      config,
      exact: false,
      kind: 'builtin',
      builtin: 'health',
      handler: async () => {},
    };
    const router = new Router([users, avatars, builtin]);
    const doc = {
      openapi: '3.1.0',
      info: { title: 'u', version: '1' },
      paths: {
        '/': { get: op('list'), post: op('create') },
        '/{id}': { get: op('get'), delete: op('remove'), trace: op('trace') },
        '/avatars/{id}': { get: op('avatar') },
        '/health': { get: op('health') },
        '/%2e%2e/x': { get: op('odd') },
      },
    };
    const out = toGatewayPaths(doc, 'users', [users], router).doc.paths as Record<
      string,
      Record<string, unknown>
    >;
    expect(Object.keys(out).sort()).toEqual(['/users', '/users/{id}']);
    expect(Object.keys(out['/users']!)).toEqual(['get']);
    expect(Object.keys(out['/users/{id}']!)).toEqual(['get']);
  });

  it('adds the path parameter a :param prefix brings, and drops servers and upstream security', () => {
    const r = route({ prefix: '/t/:tenant', service: 'orders', auth: 'public' });
    const doc = {
      openapi: '3.1.0',
      info: { title: 'o', version: '1' },
      servers: [{ url: 'http://orders.internal' }],
      security: [{ key: [] }],
      components: {
        securitySchemes: { key: { type: 'apiKey', in: 'header', name: 'k' } },
        schemas: { A: {} },
      },
      paths: {
        '/orders': { servers: [{ url: 'http://x' }], get: { ...op('list'), security: [{ key: [] }] } },
      },
    };
    const { doc: out } = toGatewayPaths(doc, 'orders', [r], new Router([r]));
    const item = (out.paths as Record<string, Record<string, Json>>)['/t/{tenant}/orders']!;
    expect(item.parameters).toEqual([
      { name: 'tenant', in: 'path', required: true, schema: { type: 'string' } },
    ]);
    expect(item.servers).toBeUndefined();
    expect(item.get.security).toEqual([]);
    expect(item.get.tags).toEqual(['orders']);
    expect(out.servers).toBeUndefined();
    expect(out.security).toBeUndefined();
    expect(out.components).toEqual({ schemas: { A: {} } });
  });

  it('lists the scopes and required claims of a protected route, with the answers the gateway gives', () => {
    const r = route({ prefix: '/admin', service: 'admin', scopes: ['admin'], claims: { role: 'ops' } });
    const doc = {
      openapi: '3.1.0',
      info: { title: 'a', version: '1' },
      paths: { '/stats': { get: op('stats') } },
    };
    const out = toGatewayPaths(doc, 'admin', [r], new Router([r]), describe_).doc.paths as Record<
      string,
      Record<string, Json>
    >;
    const get = out['/admin/stats']!.get;
    expect(get.security).toEqual([{ gatewayBearer: ['admin'] }]);
    expect(get['x-required-claims']).toEqual({ role: 'ops' });
    expect(Object.keys(get.responses).sort()).toEqual(['200', '401', '403']);
  });

  it('keeps operationIds unique when two routes reach the same operation', () => {
    const a = route({ prefix: '/v1', service: 's' });
    const b = route({ prefix: '/v2', service: 's' });
    const doc = {
      openapi: '3.1.0',
      info: { title: 's', version: '1' },
      paths: { '/x': { get: op('getX') } },
    };
    const out = toGatewayPaths(doc, 's', [a, b], new Router([a, b])).doc.paths as Record<
      string,
      Record<string, Json>
    >;
    expect(out['/v1/x']!.get.operationId).toBe('getX');
    expect(out['/v2/x']!.get.operationId).toBe('getX_2');
  });
});
