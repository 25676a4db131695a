import { describe, expect, it } from 'vitest';
import { type ComposedSchema, ConfigError, composeConfigSchema, parseConfig, rate } from './index.js';

const minimal = {
  services: {
    auth: { targets: ['http://127.0.0.1:8089'] },
    sessions: { targets: ['http://127.0.0.1:8087'] },
  },
  routes: [{ prefix: '/auth', service: 'auth', auth: 'public' }],
};

function issuesOf(input: unknown, schema?: ComposedSchema): string[] {
  try {
    parseConfig(input, { ...(schema && { schema }) });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the config to be rejected');
}

describe('parseConfig', () => {
  it('fills defaults and parses units', () => {
    const cfg = parseConfig({ ...minimal, server: { limits: { body: '1mb' }, timeouts: { request: '2m' } } });
    expect(cfg.server.port).toBe(8080);
    expect(cfg.server.limits).toEqual({
      body: 1024 * 1024,
      headers: 16 * 1024,
      connections: 10_000,
      bufferBody: 64 * 1024,
      bufferTotal: 32 * 1024 ** 2,
      minBodyRate: { rate: 1024, window: 10_000 },
    });
    expect(cfg.server.timeouts.request).toBe(120_000);
    expect(cfg.server.timeouts.headers).toBe(10_000);
    expect(cfg.services.auth!.targets).toEqual([{ url: 'http://127.0.0.1:8089', weight: 1 }]);
    expect(cfg.services.auth!.timeout).toBe(30_000);
    expect(cfg.routes[0]).toMatchObject({
      prefix: '/auth',
      stripPrefix: true,
      auth: 'public',
      websocket: true,
    });
    expect(cfg.builtins.health).toEqual({ path: '/health', auth: 'public', scopes: [] });
  });

  it('refuses a bufferBody larger than the body limit, and reads the edge keys', () => {
    // Not set: 64kb, or the body limit when that is smaller.
    expect(parseConfig({ ...minimal, server: { limits: { body: '32kb' } } }).server.limits.bufferBody).toBe(
      32 * 1024,
    );
    expect(issuesOf({ ...minimal, server: { limits: { body: '1mb', bufferBody: '2mb' } } })).toContain(
      'server.limits.bufferBody: must not be larger than limits.body',
    );
    const cfg = parseConfig({
      ...minimal,
      server: { limits: { body: '32kb', bufferBody: '16kb', minBodyRate: false, connections: 5 } },
      services: { auth: { targets: ['http://127.0.0.1:8089'], maxConnections: 4, queue: { size: 2 } } },
    });
    expect(cfg.server.limits).toMatchObject({ bufferBody: 16 * 1024, minBodyRate: false, connections: 5 });
    expect(cfg.services.auth).toMatchObject({ maxConnections: 4, queue: { size: 2, timeout: 5_000 } });
    const rate = (minBodyRate: unknown) =>
      parseConfig({ ...minimal, server: { limits: { minBodyRate } } }).server.limits.minBodyRate;
    expect(rate('1kb/s')).toEqual({ rate: 1024, window: 10_000 });
    expect(rate('10kb/10s')).toEqual({ rate: 1024, window: 10_000 });
    expect(rate(512)).toEqual({ rate: 512, window: 10_000 });
    expect(rate({ rate: '2kb', window: '5s' })).toEqual({ rate: 2048, window: 5_000 });
    expect(issuesOf({ ...minimal, server: { limits: { minBodyRate: 'fast' } } }).join()).toMatch(
      /server\.limits\.minBodyRate/,
    );
    expect(
      issuesOf({ ...minimal, services: { auth: { targets: ['http://x'], maxConnections: 0 } } }),
    ).toEqual([expect.stringMatching(/^services\.auth\.maxConnections: /)]);
  });

  it('accepts an empty config', () => {
    expect(parseConfig(undefined).routes).toEqual([]);
  });

  it('names an unknown service and suggests the closest', () => {
    expect(issuesOf({ ...minimal, routes: [{ prefix: '/s', service: 'sesions' }] })).toContain(
      'routes[0].service: unknown service "sesions" (did you mean "sessions"?)',
    );
  });

  it('names unknown keys with a suggestion', () => {
    const issues = issuesOf({ ...minimal, server: { prot: 1 }, routes: [{ prefx: '/a', service: 'auth' }] });
    expect(issues).toContain('server.prot: unknown key (did you mean "port"?)');
    expect(issues).toContain('routes[0].prefx: unknown key (did you mean "prefix"?)');
  });

  it('explains bad units and URLs', () => {
    const issues = issuesOf({
      server: { limits: { body: 'ten' }, timeouts: { request: 'soon' } },
      services: { a: { targets: ['ftp://x'] } },
    });
    expect(issues.some((i) => i.startsWith('server.limits.body: "ten" is not a size'))).toBe(true);
    expect(issues.some((i) => i.startsWith('server.timeouts.request: "soon" is not a duration'))).toBe(true);
    expect(
      issues.some((i) => i.startsWith('services.a.targets[0]: expected an http:// or https:// URL')),
    ).toBe(true);
  });

  it('requires targets for static services', () => {
    expect(issuesOf({ services: { a: {} } })).toContain(
      'services.a.targets: a service needs at least one target',
    );
    const schema = composeConfigSchema([{ name: 'test-discovery', discovery: ['dynamic'] }]);
    expect(issuesOf({ services: { a: {} } }, schema)).toContain(
      'services.a.targets: a service needs at least one target (or "discovery: dynamic")',
    );
    expect(() => parseConfig({ services: { a: { discovery: 'dynamic' } } }, { schema })).not.toThrow();
    expect(issuesOf({ services: { a: { discovery: 'dynamic' } } })).toEqual([
      'services.a.discovery: expected "static" (other kinds come with a plugin)',
    ]);
  });

  it('rejects prefixes that are not plain paths', () => {
    expect(issuesOf({ ...minimal, routes: [{ prefix: '/a/../b', service: 'auth' }] })[0]).toMatch(
      /plain path/,
    );
    expect(issuesOf({ ...minimal, routes: [{ prefix: 'auth', service: 'auth' }] })[0]).toMatch(
      /starts with "\/"/,
    );
  });

  it("parses a plugin's route option with the plugin's schema", () => {
    const schema = composeConfigSchema([{ name: 'limits', route: { rateLimit: rate.optional() } }]);
    const cfg = parseConfig(
      { ...minimal, routes: [{ prefix: '/a', service: 'auth', auth: 'public', rateLimit: '5/10s' }] },
      { schema },
    );
    expect(cfg.routes[0]!.rateLimit).toEqual({ limit: 5, windowMs: 10_000 });
    expect(
      issuesOf({ ...minimal, routes: [{ prefix: '/a', service: 'auth', rateLimit: '5/10s' }] }),
    ).toContain(
      'routes[0].rateLimit: unknown key (allowed: prefix, service, name, methods, host, stripPrefix, auth, scopes, timeout, timeouts, websocket, requestBuffering, grpcWeb, redirects)',
    );
  });
});

describe('HTTP/2 targets', () => {
  const service = (svc: Record<string, unknown>) => ({
    services: { g: svc },
    routes: [{ prefix: '/g', service: 'g', auth: 'public' }],
  });

  it('accepts h2c://host:port, and https:// or http:// with http2: true', () => {
    const cfg = parseConfig(service({ targets: ['h2c://grpc-a:50051', 'h2c://[::1]:50052'] }));
    expect(cfg.services.g!.targets.map((t) => t.url)).toEqual(['h2c://grpc-a:50051', 'h2c://[::1]:50052']);
    expect(cfg.services.g!.http2).toBeUndefined();
    expect(parseConfig(service({ targets: ['https://grpc-a:443'], http2: true })).services.g!.http2).toBe(
      true,
    );
    expect(
      parseConfig(service({ targets: ['http://grpc-a', 'h2c://grpc-b:1'], http2: true })).services.g!.http2,
    ).toBe(true);
  });

  it('rejects an h2c:// target with a path, a query, credentials or no host', () => {
    for (const url of ['h2c://grpc-a:50051/api', 'h2c://grpc-a:50051?x=1', 'h2c://u:p@grpc-a:1', 'h2c://']) {
      const issues = issuesOf(service({ targets: [url] }));
      expect(
        issues.some((i) => i.startsWith('services.g.targets[0]: ') && /h2c|http/.test(i)),
        url,
      ).toBe(true);
    }
    expect(issuesOf(service({ targets: ['h2c://grpc-a:50051/api'] }))[0]).toContain('host and port only');
  });

  it('rejects http2: false with h2c:// targets, and h2c:// mixed with http:// unless http2 is set', () => {
    expect(issuesOf(service({ targets: ['h2c://a:1'], http2: false }))).toContain(
      'services.g.http2: h2c:// targets are cleartext HTTP/2, but "http2" is false',
    );
    expect(issuesOf(service({ targets: ['h2c://a:1', 'http://b:2'] })).join('\n')).toContain(
      'services.g.targets: mixes h2c:// targets with others',
    );
    expect(issuesOf(service({ targets: ['https://a'], http2: 'yes' }))[0]).toMatch(/^services\.g\.http2: /);
  });
});
