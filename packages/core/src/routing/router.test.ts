import { type RunningGateway, send, startGateway, startUpstream, type Upstream } from '@lucid/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RouteConfig, routeSchema, serviceSchema } from '../config/schema.js';
import type { Route } from '../types.js';
import { isRouteMiss, Router } from './router.js';

type RouteInput = Partial<Omit<RouteConfig, 'methods'>> & { prefix: string; methods?: string[] };

/** A route as the gateway builds it, from a config that went through the real schema. */
function route(id: string, input: RouteInput, opts: { exact?: boolean; kind?: Route['kind'] } = {}): Route {
  const config = routeSchema.parse({ service: id, ...input });
  const base = { id, exact: opts.exact ?? false, config };
  return opts.kind === 'builtin'
    ? { ...base, kind: 'builtin', builtin: 'health', handler: async () => {} }
    : {
        ...base,
        kind: 'proxy',
        service: serviceSchema.parse({ targets: ['http://127.0.0.1:1'] }),
        serviceName: id,
      };
}

type Outcome =
  | { id: string; upstreamPath: string; params?: Record<string, string> }
  | { miss: 404 }
  | { miss: 405; allow: string[] };

function outcome(router: Router, method: string, host: string | undefined, path: string): Outcome {
  const m = router.match(method, host, path);
  if (isRouteMiss(m)) return m;
  const out: Outcome = { id: m.route.id, upstreamPath: m.upstreamPath };
  if (Object.keys(m.params).length > 0) out.params = m.params;
  return out;
}

type Case = [name: string, method: string, host: string | undefined, path: string, expected: Outcome];

function table(routes: Route[], cases: Case[]): void {
  const router = new Router(routes);
  it.each(cases)('%s: %s %s %s', (_name, method, host, path, expected) => {
    expect(outcome(router, method, host, path)).toEqual(expected);
  });
}

describe('Router: the Lucid services and the built-ins', () => {
  table(
    [
      route('auth', { prefix: '/auth', auth: 'public' }),
      route('blockchain', { prefix: '/blockchain' }),
      route('sessions', { prefix: '/sessions', stripPrefix: false }),
      route('nodes', { prefix: '/nodes' }),
      route('admin', { prefix: '/admin', scopes: ['admin'] }),
      route('root', { prefix: '/', methods: ['GET'] }, { exact: true, kind: 'builtin' }),
      route('health', { prefix: '/health', methods: ['GET'], stripPrefix: false }, { kind: 'builtin' }),
      route('metrics', { prefix: '/metrics', methods: ['GET'], stripPrefix: false }, { kind: 'builtin' }),
    ],
    [
      ['prefix alone strips to /', 'GET', 'gw', '/auth', { id: 'auth', upstreamPath: '/' }],
      ['below the prefix', 'POST', 'gw', '/auth/login', { id: 'auth', upstreamPath: '/login' }],
      ['trailing slash', 'GET', 'gw', '/auth/', { id: 'auth', upstreamPath: '/' }],
      ['deep path', 'GET', 'gw', '/auth/a/b/c/', { id: 'auth', upstreamPath: '/a/b/c/' }],
      ['blockchain', 'POST', 'gw', '/blockchain/tx/0xabc', { id: 'blockchain', upstreamPath: '/tx/0xabc' }],
      [
        'strip off keeps the full path',
        'GET',
        'gw',
        '/sessions/s1',
        { id: 'sessions', upstreamPath: '/sessions/s1' },
      ],
      ['strip off, prefix alone', 'GET', 'gw', '/sessions', { id: 'sessions', upstreamPath: '/sessions' }],
      ['nodes', 'DELETE', 'gw', '/nodes/n-7', { id: 'nodes', upstreamPath: '/n-7' }],
      ['admin', 'PUT', 'gw', '/admin/users/1', { id: 'admin', upstreamPath: '/users/1' }],
      ['segment boundary', 'GET', 'gw', '/administrator', { miss: 404 }],
      ['segment boundary, deeper', 'GET', 'gw', '/adminx/y', { miss: 404 }],
      ['a shorter word is no prefix', 'GET', 'gw', '/adm', { miss: 404 }],
      ['case matters in paths', 'GET', 'gw', '/Admin', { miss: 404 }],
      ['the exact root', 'GET', 'gw', '/', { id: 'root', upstreamPath: '/' }],
      ['the exact root takes nothing below', 'GET', 'gw', '/unknown', { miss: 404 }],
      ['the root allows GET only', 'POST', 'gw', '/', { miss: 405, allow: ['GET', 'HEAD'] }],
      ['health', 'GET', 'gw', '/health', { id: 'health', upstreamPath: '/health' }],
      ['HEAD comes with GET', 'HEAD', 'gw', '/metrics', { id: 'metrics', upstreamPath: '/metrics' }],
      ['405 lists what the path allows', 'POST', 'gw', '/metrics', { miss: 405, allow: ['GET', 'HEAD'] }],
      ['no host header', 'GET', undefined, '/nodes', { id: 'nodes', upstreamPath: '/' }],
    ],
  );
});

describe('Router: parameters', () => {
  table(
    [
      route('users', { prefix: '/users' }),
      route('user', { prefix: '/users/:id' }),
      route('me', { prefix: '/users/me' }),
      route('posts', { prefix: '/users/:userId/posts' }),
      route('post', { prefix: '/users/:userId/posts/:postId', stripPrefix: false }),
      route('tenantApi', { prefix: '/:tenant/api' }),
      route('adminAny', { prefix: '/admin/:section' }),
    ],
    [
      ['captured', 'GET', 'h', '/users/42', { id: 'user', upstreamPath: '/', params: { id: '42' } }],
      [
        'captured, below',
        'GET',
        'h',
        '/users/42/x',
        { id: 'user', upstreamPath: '/x', params: { id: '42' } },
      ],
      ['static beats param', 'GET', 'h', '/users/me', { id: 'me', upstreamPath: '/' }],
      ['static beats param, below', 'GET', 'h', '/users/me/x', { id: 'me', upstreamPath: '/x' }],
      ['a param never takes an empty segment', 'GET', 'h', '/users/', { id: 'users', upstreamPath: '/' }],
      [
        'other names on the same node',
        'GET',
        'h',
        '/users/7/posts',
        { id: 'posts', upstreamPath: '/', params: { userId: '7' } },
      ],
      [
        'deeper through a param beats shallower static',
        'GET',
        'h',
        '/users/me/posts/3/comments',
        { id: 'post', upstreamPath: '/users/me/posts/3/comments', params: { userId: 'me', postId: '3' } },
      ],
      [
        'kept percent-encoded',
        'GET',
        'h',
        '/users/caf%C3%A9',
        { id: 'user', upstreamPath: '/', params: { id: 'caf%C3%A9' } },
      ],
      [
        'param first segment',
        'GET',
        'h',
        '/acme/api/v1',
        { id: 'tenantApi', upstreamPath: '/v1', params: { tenant: 'acme' } },
      ],
      [
        'static at the earliest position wins',
        'GET',
        'h',
        '/admin/api',
        { id: 'adminAny', upstreamPath: '/', params: { section: 'api' } },
      ],
      ['a param needs its segment', 'GET', 'h', '/acme', { miss: 404 }],
    ],
  );

  it('gives each match its own params object', () => {
    const router = new Router([route('user', { prefix: '/users/:id' })]);
    const first = router.match('GET', undefined, '/users/1');
    if (isRouteMiss(first)) throw new Error('expected a match');
    first.params.id = 'changed';
    expect(router.match('GET', undefined, '/users/1')).toMatchObject({ params: { id: '1' } });
  });
});

describe('Router: hosts', () => {
  table(
    [
      route('any', { prefix: '/api' }),
      route('example', { prefix: '/api', host: 'Example.com' }),
      route('wild', { prefix: '/api', host: '*.example.com' }),
      route('exactSub', { prefix: '/api', host: 'admin.example.com' }),
      route('v6', { prefix: '/api', host: '[::1]' }),
      route('onlyHosted', { prefix: '/private', host: 'internal.example.com' }),
      route('ported', { prefix: '/ported', host: 'p.example.com:8443' }),
    ],
    [
      ['a host beats none', 'GET', 'example.com', '/api/x', { id: 'example', upstreamPath: '/x' }],
      [
        'case-insensitive, port ignored',
        'GET',
        'EXAMPLE.com:8080',
        '/api',
        { id: 'example', upstreamPath: '/' },
      ],
      ['trailing dot', 'GET', 'example.com.', '/api', { id: 'example', upstreamPath: '/' }],
      ['wildcard, one label', 'GET', 'a.example.com', '/api', { id: 'wild', upstreamPath: '/' }],
      [
        'wildcard, mixed case and port',
        'GET',
        'Tenant-1.Example.COM:443',
        '/api',
        { id: 'wild', upstreamPath: '/' },
      ],
      ['wildcard, not two labels', 'GET', 'a.b.example.com', '/api', { id: 'any', upstreamPath: '/' }],
      ['wildcard, not the bare domain', 'GET', 'xexample.com', '/api', { id: 'any', upstreamPath: '/' }],
      ['wildcard, not an empty label', 'GET', '.example.com', '/api', { id: 'any', upstreamPath: '/' }],
      [
        'an exact host beats a wildcard',
        'GET',
        'admin.example.com',
        '/api',
        { id: 'exactSub', upstreamPath: '/' },
      ],
      ['IPv6 literal with port', 'GET', '[::1]:8080', '/api', { id: 'v6', upstreamPath: '/' }],
      ['other host', 'GET', 'other.org', '/api', { id: 'any', upstreamPath: '/' }],
      ['no host', 'GET', undefined, '/api', { id: 'any', upstreamPath: '/' }],
      [
        'hosted only, right host',
        'GET',
        'internal.example.com',
        '/private',
        { id: 'onlyHosted', upstreamPath: '/' },
      ],
      ['hosted only, wrong host', 'GET', 'example.com', '/private', { miss: 404 }],
      ['hosted only, no host', 'GET', undefined, '/private', { miss: 404 }],
      ['hosted only, a longer name', 'GET', 'internal.example.com.evil', '/private', { miss: 404 }],
      [
        'a port in the route is ignored too',
        'GET',
        'p.example.com',
        '/ported',
        { id: 'ported', upstreamPath: '/' },
      ],
    ],
  );
});

describe('Router: methods', () => {
  table(
    [
      route('all', { prefix: '/all' }),
      route('read', { prefix: '/items', methods: ['GET'] }),
      route('write', { prefix: '/items', methods: ['POST', 'PUT'] }),
      route('catchAll', { prefix: '/' }),
      route('adminRead', { prefix: '/admin', methods: ['GET'] }),
      route('api', { prefix: '/api', methods: ['GET', 'DELETE'] }),
      route('apiV1', { prefix: '/api/v1', methods: ['POST'] }),
      route('apiV1Hosted', { prefix: '/api/v1', methods: ['PATCH'], host: 'other.example' }),
      route('headOnly', { prefix: '/probe', methods: ['HEAD'] }),
    ],
    [
      ['all: PATCH', 'PATCH', 'h', '/all', { id: 'all', upstreamPath: '/' }],
      ['all: OPTIONS', 'OPTIONS', 'h', '/all', { id: 'all', upstreamPath: '/' }],
      ['all: HEAD', 'HEAD', 'h', '/all', { id: 'all', upstreamPath: '/' }],
      ['all: an unknown token', 'PURGE', 'h', '/all/x', { id: 'all', upstreamPath: '/x' }],
      ['same prefix, by method', 'GET', 'h', '/items/1', { id: 'read', upstreamPath: '/1' }],
      ['same prefix, by method (2)', 'PUT', 'h', '/items/1', { id: 'write', upstreamPath: '/1' }],
      ['HEAD with GET', 'HEAD', 'h', '/items', { id: 'read', upstreamPath: '/' }],
      [
        'falls back to the catch-all',
        'DELETE',
        'h',
        '/items/1',
        { id: 'catchAll', upstreamPath: '/items/1' },
      ],
      [
        'falls back to a shorter prefix',
        'POST',
        'h',
        '/admin/x',
        { id: 'catchAll', upstreamPath: '/admin/x' },
      ],
      ['falls back to /api', 'GET', 'h', '/api/v1/x', { id: 'api', upstreamPath: '/v1/x' }],
      ['longest allowing wins', 'POST', 'h', '/api/v1/x', { id: 'apiV1', upstreamPath: '/x' }],
      [
        'a host route allows for its host',
        'PATCH',
        'other.example',
        '/api/v1',
        { id: 'apiV1Hosted', upstreamPath: '/' },
      ],
      ['HEAD alone does not bring GET', 'HEAD', 'h', '/probe', { id: 'headOnly', upstreamPath: '/' }],
      ['HEAD alone, GET falls back', 'GET', 'h', '/probe', { id: 'catchAll', upstreamPath: '/probe' }],
    ],
  );

  describe('405', () => {
    table(
      [
        route('api', { prefix: '/api', methods: ['GET', 'DELETE'] }),
        route('apiV1', { prefix: '/api/v1', methods: ['POST'] }),
        route('apiV1Hosted', { prefix: '/api/v1', methods: ['PATCH'], host: 'other.example' }),
        route('v2', { prefix: '/api/:version/items', methods: ['PUT'] }),
        route('head', { prefix: '/head', methods: ['HEAD'] }),
      ],
      [
        [
          'union of matching routes, sorted',
          'PUT',
          'h',
          '/api/v1/x',
          { miss: 405, allow: ['DELETE', 'GET', 'HEAD', 'POST'] },
        ],
        [
          'routes of the host count',
          'PUT',
          'other.example',
          '/api/v1',
          { miss: 405, allow: ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST'] },
        ],
        [
          'params count',
          'POST',
          'h',
          '/api/v2/items',
          { miss: 405, allow: ['DELETE', 'GET', 'HEAD', 'PUT'] },
        ],
        ['methods are case-sensitive', 'get', 'h', '/api', { miss: 405, allow: ['DELETE', 'GET', 'HEAD'] }],
        ['HEAD alone', 'GET', 'h', '/head', { miss: 405, allow: ['HEAD'] }],
        ['no path match is a 404', 'GET', 'h', '/apis', { miss: 404 }],
      ],
    );
  });
});

describe('Router: priority and exact routes', () => {
  table(
    [
      route('a', { prefix: '/a' }),
      route('ab', { prefix: '/a/b' }),
      route('abFirst', { prefix: '/a/b/c' }),
      route('abSecond', { prefix: '/a/b/c' }),
      route('slashed', { prefix: '/s/' }),
      route('health', { prefix: '/health', stripPrefix: false }, { exact: true, kind: 'builtin' }),
      route('rootInfo', { prefix: '/' }, { exact: true, kind: 'builtin' }),
      route('fallback', { prefix: '/' }),
      route('pipe', { prefix: '/x|y' }),
    ],
    [
      ['longest prefix', 'GET', 'h', '/a/b/x', { id: 'ab', upstreamPath: '/x' }],
      ['shorter when the longer does not match', 'GET', 'h', '/a/bb', { id: 'a', upstreamPath: '/bb' }],
      ['config order breaks a tie', 'GET', 'h', '/a/b/c', { id: 'abFirst', upstreamPath: '/' }],
      [
        'a trailing slash in a prefix changes nothing',
        'GET',
        'h',
        '/s/t',
        { id: 'slashed', upstreamPath: '/t' },
      ],
      ['exact', 'GET', 'h', '/health', { id: 'health', upstreamPath: '/health' }],
      [
        'exact, not with a trailing slash',
        'GET',
        'h',
        '/health/',
        { id: 'fallback', upstreamPath: '/health/' },
      ],
      ['exact, not below', 'GET', 'h', '/health/x', { id: 'fallback', upstreamPath: '/health/x' }],
      ['an exact root beats a catch-all at /', 'GET', 'h', '/', { id: 'rootInfo', upstreamPath: '/' }],
      ['the catch-all takes the rest', 'GET', 'h', '/zzz', { id: 'fallback', upstreamPath: '/zzz' }],
      ['prefixes are normalized like paths', 'GET', 'h', '/x%7Cy/z', { id: 'pipe', upstreamPath: '/z' }],
    ],
  );

  it('matches nothing with no routes', () => {
    expect(new Router([]).match('GET', 'h', '/')).toEqual({ miss: 404 });
  });
});

describe('Router: bad routes are refused when built', () => {
  // The config schema refuses these first; the router still refuses them when handed one directly.
  const unchecked = (id: string, prefix: string, host?: string): Route => {
    const valid = route(id, { prefix: '/a' });
    return { ...valid, config: { ...valid.config, prefix, host } };
  };
  it.each([
    ['a prefix the normalizer refuses', unchecked('semi', '/a;b'), /prefix "\/a;b"/],
    ['a nameless param', unchecked('colon', '/a/:'), /needs a name/],
    ['a wildcard in the middle', unchecked('mid', '/a', 'a.*.com'), /host "a\.\*\.com"/],
    ['a wildcard without a label', unchecked('bare', '/a', '*.'), /host "\*\."/],
  ])('%s', (_name, bad, message) => {
    expect(() => new Router([bad])).toThrow(message);
  });
});

describe('Router through a real gateway', () => {
  const names = ['auth', 'blockchain', 'sessions', 'nodes', 'admin', 'tenant', 'example', 'fallback'];
  const upstreams: Record<string, Upstream> = {};
  let gw: RunningGateway;

  beforeAll(async () => {
    for (const name of names) {
      upstreams[name] = await startUpstream((_req, res, seen) => {
        res.end(JSON.stringify({ service: name, method: seen.method, url: seen.url }));
      });
    }
    gw = await startGateway({
      services: Object.fromEntries(names.map((n) => [n, { targets: [upstreams[n]!.url] }])),
      routes: [
        { prefix: '/auth', service: 'auth', auth: 'public' },
        { prefix: '/blockchain', service: 'blockchain' },
        { prefix: '/sessions/:id', service: 'sessions', stripPrefix: false },
        { prefix: '/nodes', service: 'nodes', methods: ['GET', 'POST'] },
        { prefix: '/admin', service: 'admin', methods: ['GET'] },
        { prefix: '/api', service: 'example', host: 'example.com' },
        { prefix: '/api', service: 'tenant', host: '*.tenant.example' },
        { prefix: '/fallback', service: 'fallback' },
        { prefix: '/fallback/strict', service: 'admin', methods: ['DELETE'] },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
  });

  it.each([
    ['GET', undefined, '/auth/login?next=/x', { service: 'auth', url: '/login?next=/x' }],
    ['POST', undefined, '/blockchain', { service: 'blockchain', url: '/' }],
    ['PUT', undefined, '/sessions/s-1/state', { service: 'sessions', url: '/sessions/s-1/state' }],
    ['POST', undefined, '/nodes/n1', { service: 'nodes', url: '/n1' }],
    ['HEAD', undefined, '/admin/users', { service: 'admin', url: '/users' }],
    ['GET', 'Example.COM:8443', '/api/v1', { service: 'example', url: '/v1' }],
    ['GET', 'acme.tenant.example', '/api', { service: 'tenant', url: '/' }],
    ['DELETE', undefined, '/fallback/strict/x', { service: 'admin', url: '/x' }],
    ['GET', undefined, '/fallback/strict/x', { service: 'fallback', url: '/strict/x' }],
  ])('%s %s %s', async (method, host, path, expected) => {
    const res = await send(`${gw.url}${path}`, { method, ...(host && { headers: { host } }) });
    expect(res.status).toBe(200);
    if (method !== 'HEAD') expect(res.json()).toEqual({ method, ...expected });
  });

  it.each([
    ['GET', undefined, '/administrator'],
    ['GET', undefined, '/sessions'],
    ['GET', 'other.example', '/api'],
    ['GET', 'a.b.tenant.example', '/api'],
  ])('%s %s %s is a 404', async (method, host, path) => {
    const res = await send(`${gw.url}${path}`, { method, ...(host && { headers: { host } }) });
    expect(res.status).toBe(404);
    expect(res.json()).toMatchObject({ code: 'GW_ROUTE_NOT_FOUND' });
  });

  it('answers a method no matching route allows with 405 and an Allow header', async () => {
    const res = await send(`${gw.url}/nodes/n1`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, POST');
    expect(res.json()).toMatchObject({ code: 'GW_METHOD_NOT_ALLOWED' });
    const admin = await send(`${gw.url}/admin`, { method: 'PATCH' });
    expect(admin.status).toBe(405);
    expect(admin.headers.allow).toBe('GET, HEAD');
  });
});
