import { describe, expect, it } from 'vitest';
import { checkConfig } from '../src/config/load.js';
import { fullConfigSchema } from '../src/config/schema.js';

const services = { a: { targets: ['http://127.0.0.1:1'] }, b: { targets: ['http://127.0.0.1:2'] } };
const auth = { jwt: { secret: 'x'.repeat(32), issuer: 'lucid-auth', audience: 'lucid-api' } };

/**
 * Every problem, schema and semantic, as `validate` and `start` find them; with an admin listener, as a
 * sound config has it (a public /metrics is warned about: test/observability/admin.test.ts).
 */
const problemsOf = (input: Record<string, unknown>) =>
  checkConfig({ server: { admin: { port: 9901 } }, ...input }).problems;

function check(input: Record<string, unknown>, severity: 'error' | 'warning' = 'error'): string[] {
  return problemsOf({ services, ...input })
    .filter((p) => p.severity === severity)
    .map((p) => `${p.path}: ${p.message}`);
}

describe('checkConfig', () => {
  it('passes a sound config', () => {
    const routes = [
      { prefix: '/a', service: 'a', auth: 'public' },
      { prefix: '/b', service: 'b', scopes: ['x'] },
    ];
    expect(problemsOf({ services, routes, auth })).toEqual([]);
  });

  it('finds a duplicate route and says which one takes its requests', () => {
    const routes = [
      { prefix: '/a', service: 'a', auth: 'public' },
      { prefix: '/a/', service: 'b', auth: 'public' },
    ];
    expect(check({ routes })).toEqual([
      'routes[1].prefix: "/a/" can never match: routes[0] ("/a") takes the same requests',
    ]);
  });

  it('finds a route shadowed by one with the same parameters, but not one told apart by method or host', () => {
    const routes = [
      { prefix: '/u/:id', service: 'a', auth: 'public', methods: ['GET', 'POST'] },
      { prefix: '/u/:user', service: 'b', auth: 'public', methods: ['GET'] },
      { prefix: '/u/:x', service: 'b', auth: 'public', methods: ['DELETE'] },
      { prefix: '/u/:x', service: 'b', auth: 'public', host: 'api.example' },
    ];
    expect(check({ routes })).toEqual([
      'routes[1].prefix: "/u/:user" can never match: routes[0] ("/u/:id" GET,POST) takes the same requests',
    ]);
  });

  it('warns about a route that takes over a built-in endpoint', () => {
    for (const [prefix, name] of [
      ['/health', 'health'],
      ['/', 'root'],
    ] as const) {
      const routes = [{ prefix, service: 'a', auth: 'public' }];
      expect(check({ routes })).toEqual([]);
      expect(check({ routes }, 'warning')).toContainEqual(
        `routes[0].prefix: "${prefix}" takes over the built-in ${name} endpoint at ${prefix} (the route wins)`,
      );
      expect(check({ routes, builtins: { [name]: false } }, 'warning')).toEqual([
        'services.b: no route uses this service',
      ]);
    }
    const moved = [{ prefix: '/health', service: 'a', auth: 'public' }];
    expect(check({ routes: moved, builtins: { health: { path: '/_gw/health' } } }, 'warning')).toEqual([
      'services.b: no route uses this service',
    ]);
  });

  it('finds routes that need a token when no auth is configured', () => {
    const routes = [
      { prefix: '/a', service: 'a' },
      { prefix: '/b', service: 'b', auth: 'public' },
    ];
    expect(check({ routes })).toEqual([
      'routes[0].auth: "/a" needs a verified identity (routes do unless they say "auth: public"), but nothing authenticates (no plugin provides authentication)',
    ]);
    expect(check({ routes, auth })).toEqual([]);
  });

  it('finds a built-in that needs a token when no auth is configured', () => {
    const routes = [{ prefix: '/a', service: 'a', auth: 'public' }];
    expect(check({ routes, builtins: { metrics: { auth: 'required' } } })).toEqual([
      'builtins.metrics.auth: the metrics endpoint needs a verified identity, but no plugin authenticates',
    ]);
  });

  it('finds scopes on a public route', () => {
    const routes = [{ prefix: '/a', service: 'a', auth: 'public', scopes: ['admin'] }];
    expect(check({ routes, auth })).toEqual([
      'routes[0].auth: "/a" is public but lists scopes, which only a verified identity can have',
    ]);
  });

  it("leaves a Redis store with no URL to the rate limiter's schema, which names it", () => {
    const result = fullConfigSchema.safeParse({ services, rateLimit: { store: 'redis' } });
    expect(result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      expect.stringMatching(/^rateLimit\.redis: store "redis" needs a connection: set redis\.url/),
    ]);
  });

  it('finds a per-tier route limit naming an unknown tier', () => {
    const routes = [
      { prefix: '/a', service: 'a', auth: 'public', rateLimit: { premum: '5/s', free: '1/s' } },
    ];
    const rateLimit = { tiers: { free: '10/min', premium: '100/min' } };
    expect(check({ routes, rateLimit })).toEqual([
      'routes[0].rateLimit.premum: unknown tier "premum" (did you mean "premium"?)',
    ]);
  });

  it('warns about a route limit with no rateLimit section', () => {
    const routes = [{ prefix: '/a', service: 'a', auth: 'public', rateLimit: '5/s' }];
    expect(check({ routes }, 'warning')).toContainEqual(
      'routes[0].rateLimit: "/a" sets a rate limit, but no "rateLimit" section is configured, so nothing limits it',
    );
  });

  it('finds Consul discovery with no Consul configured', () => {
    const input = {
      services: { s: { discovery: 'consul' } },
      routes: [{ prefix: '/s', service: 's', auth: 'public' }],
    };
    const problems = problemsOf(input).map((p) => `${p.path}: ${p.message}`);
    expect(problems).toEqual([
      'services.s.discovery: "consul" discovery needs Consul, but no "mesh" section is configured',
    ]);
    expect(problemsOf({ ...input, mesh: { consul: { url: 'http://c:8500' } } })).toEqual([]);
  });

  it('warns about unused services and repeated targets', () => {
    const input = {
      services: {
        a: { targets: ['http://127.0.0.1:1', 'http://127.0.0.1:1/'] },
        b: { targets: ['http://127.0.0.1:2'] },
      },
      routes: [{ prefix: '/a', service: 'a', auth: 'public' }],
    };
    expect(check(input, 'warning')).toEqual([
      'services.a.targets: http://127.0.0.1:1 is listed more than once',
      'services.b: no route uses this service',
    ]);
  });

  it('gives every problem a fix', () => {
    const problems = problemsOf({
      services,
      routes: [
        { prefix: '/a', service: 'a' },
        { prefix: '/a', service: 'a' },
      ],
      builtins: { metrics: { auth: 'required' } },
    });
    expect(problems.length).toBeGreaterThan(2);
    for (const p of problems) expect(p.fix).toBeTruthy();
  });
});
