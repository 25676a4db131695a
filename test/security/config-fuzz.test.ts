import {
  ConfigError,
  composeConfigSchema,
  createGateway,
  createLogger,
  type GatewayConfigInput,
  type GatewayPlugin,
  parseConfig,
  parseWith,
} from '@lucid/gateway-core';
import { meshPluginSchema, parseMeshConfig } from '@lucid/mesh-consul';
import { authConfigSchema, authPluginSchema } from '@lucid/middleware-auth';
import { parseRateLimitConfig, rateLimitPluginSchema } from '@lucid/middleware-ratelimit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/**
 * Property tests for the config parsers: on any JSON-ish input, and on valid configs with one or
 * more things broken, they either return a config or throw a `ConfigError` whose every issue names
 * a path and a message. A config they accept must also build and start a gateway.
 */

// Bounded for CI time; no fixed seed, so new inputs are tried on every run.
const runs = (numRuns: number) => ({ numRuns });

/** A config as the architecture describes it: every section used, all valid. */
const VALID = {
  name: 'lucid-api-gateway',
  server: {
    host: '127.0.0.1',
    port: 0,
    trustProxy: ['10.0.0.0/8', '::1'],
    limits: { body: '10mb', headers: '16kb' },
    timeouts: { headers: '10s', request: '60s', keepAlive: '65s', shutdown: '30s' },
    cors: { origins: ['https://app.lucid.dev'], credentials: true },
    allowedHosts: ['api.lucid.dev', '*.lucid.dev'],
    engine: 'undici',
  },
  logging: { level: 'silent', pretty: false, accessLog: true },
  builtins: { health: { path: '/health' }, metrics: { path: '/metrics', auth: 'required', scopes: ['ops'] } },
  services: {
    auth: { targets: ['http://127.0.0.1:8089'], timeout: '30s', health: '/health' },
    blockchain: {
      targets: [{ url: 'http://127.0.0.1:8084', weight: 3 }, 'http://127.0.0.1:8085'],
      retry: { attempts: 1, budget: 0.1 },
      breaker: { failures: 3, cooldown: '5s' },
    },
    admin: { targets: ['http://127.0.0.1:8083'], health: false, preserveHost: true },
  },
  routes: [
    { prefix: '/auth', service: 'auth', auth: 'public' },
    { prefix: '/blockchain', service: 'blockchain', methods: ['GET', 'post'], rateLimit: '10/s' },
    { prefix: '/blockchain/:id/tx', service: 'blockchain', stripPrefix: false, timeout: '5s' },
    { prefix: '/admin', service: 'admin', scopes: ['admin'], host: 'admin.lucid.dev', websocket: false },
  ],
  auth: {
    jwt: { secret: 'x'.repeat(48), algorithms: ['HS256'], issuer: 'lucid-auth', audience: 'lucid-api' },
  },
  rateLimit: { tiers: { free: '100/min', premium: '1000/min' }, defaultTier: 'free', keyBy: 'user' },
  mesh: { consul: { url: 'http://127.0.0.1:8500' } },
};

/** Values people (and templating gone wrong) put into config files, the likely ones most often. */
const oddValue = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '0',
      '-1',
      '1e309',
      'NaN',
      'Infinity',
      '10s',
      '-5s',
      '1.5.5mb',
      '10 MB',
      '0x10kb',
      '\uff19s',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a variable the environment left unsubstituted
      '${UNSET}',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a variable the environment left unsubstituted
      '${UNSET:-}',
      '100/0min',
      '0/min',
      '1/1000000000000000000000d',
      '/',
      '//',
      '/..',
      '/a;b',
      '/a%2fb',
      '/:',
      '/\u00e9',
      '/\u20ac',
      'http://',
      'http://[::1',
      'redis://',
      '10.0.0.0/33',
      '::/129',
      '*',
      '*.',
      '__proto__',
      'constructor',
    ),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(0, -1, 1.5, 2 ** 31, 2 ** 53, Number.MAX_VALUE, -0, true, false, null),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

type Json = unknown;
type Path = Array<string | number>;

/** Every path into a JSON value (objects and arrays), the root included. */
function pathsOf(value: Json, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) out.push(...pathsOf(value[i], [...prefix, i]));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  }
  return out;
}

const ALL_PATHS = pathsOf(VALID).filter((p) => p.length > 0);
/** Paths to strings, numbers and booleans: where most mistakes are made. */
const LEAF_PATHS = ALL_PATHS.filter((p) => {
  const v = p.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], VALID);
  return v === null || typeof v !== 'object';
});

type Mutation =
  | { kind: 'set'; path: Path; value: Json }
  | { kind: 'delete'; path: Path }
  | { kind: 'add'; path: Path; key: string; value: Json }
  | { kind: 'wrap'; path: Path };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), path: fc.constantFrom(...LEAF_PATHS), value: oddValue }),
  fc.record({ kind: fc.constant('set' as const), path: fc.constantFrom(...ALL_PATHS), value: oddValue }),
  fc.record({ kind: fc.constant('delete' as const), path: fc.constantFrom(...ALL_PATHS) }),
  fc.record({
    kind: fc.constant('add' as const),
    path: fc.constantFrom([], ...ALL_PATHS),
    key: fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.constantFrom('__proto__', 'constructor', 'prefix', 'targets'),
    ),
    value: oddValue,
  }),
  fc.record({ kind: fc.constant('wrap' as const), path: fc.constantFrom(...ALL_PATHS) }),
);

/** Applies mutations to a deep copy of VALID (paths that no longer exist are skipped). */
function mutate(mutations: Mutation[]): Json {
  const root = structuredClone(VALID) as Record<string, unknown>;
  for (const m of mutations) {
    const parentPath = m.kind === 'add' ? m.path : m.path.slice(0, -1);
    let node: unknown = root;
    for (const key of parentPath) {
      node =
        node !== null && typeof node === 'object'
          ? (node as Record<string | number, unknown>)[key]
          : undefined;
    }
    if (node === null || typeof node !== 'object') continue;
    // JSON has no named keys on arrays.
    if (m.kind === 'add' && Array.isArray(node)) continue;
    const parent = node as Record<string | number, unknown>;
    const key = m.path.at(-1)!;
    if (m.kind === 'set') parent[key] = m.value;
    else if (m.kind === 'delete') {
      if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
      else delete parent[key];
    } else if (m.kind === 'wrap') parent[key] = [parent[key]];
    else
      Object.defineProperty(parent, m.key, {
        value: m.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return root;
}

/** Runs a parser: fine when it returns, fine when it throws a ConfigError naming every issue. */
function onlyConfigErrors(parse: (input: unknown) => unknown, input: unknown): unknown {
  try {
    return parse(input);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    expect(err.issues.length).toBeGreaterThan(0);
    for (const issue of err.issues) {
      expect(typeof issue.path).toBe('string');
      expect(issue.message).toMatch(/\S/);
    }
    return undefined;
  }
}

const logger = createLogger({ level: 'silent', pretty: false, accessLog: false });

/** The schema the CLI composes (core's and the three plugins'), with what their plugins provide. */
const schema = composeConfigSchema([authPluginSchema, rateLimitPluginSchema, meshPluginSchema]);
const parseFull = (input: unknown) =>
  parseConfig(input, { schema, provides: ['authentication', 'discovery:consul'] });

/** Plugins that only declare their config and what they provide: createGateway reads the config as with the real ones. */
const declaring: GatewayPlugin[] = [
  { name: 'auth', schema: authPluginSchema, provides: ['authentication'] },
  { name: 'rate-limit', schema: rateLimitPluginSchema },
];

describe('parseConfig', () => {
  it('accepts the reference config', () => {
    expect(parseFull(VALID).routes).toHaveLength(4);
  });

  it('throws nothing but ConfigError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (input) => {
        onlyConfigErrors(parseFull, input);
      }),
      runs(1000),
    );
  });

  it('throws nothing but ConfigError on arbitrary values under the known sections', () => {
    const section = fc.oneof(
      oddValue,
      fc.anything({ maxDepth: 3, withNullPrototype: true, withBigInt: true }),
    );
    fc.assert(
      fc.property(
        fc.record(
          {
            name: section,
            server: fc.oneof(section, fc.dictionary(fc.constantFrom(...Object.keys(VALID.server)), section)),
            logging: section,
            builtins: section,
            health: section,
            services: fc.oneof(section, fc.dictionary(fc.string({ maxLength: 6 }), section)),
            routes: fc.oneof(section, fc.array(section, { maxLength: 3 })),
          },
          { requiredKeys: [] },
        ),
        (input) => {
          onlyConfigErrors(parseFull, input);
        },
      ),
      runs(1000),
    );
  });

  it('throws nothing but ConfigError on valid configs with things broken', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        onlyConfigErrors(parseFull, mutate(mutations));
      }),
      runs(2000),
    );
  });
});

describe('plugin sections', () => {
  const parsers: Array<[string, (input: unknown) => unknown, unknown]> = [
    ['auth', (i) => parseWith(authConfigSchema, i), VALID.auth],
    ['rateLimit', (i) => parseRateLimitConfig(i), VALID.rateLimit],
    ['mesh', (i) => parseMeshConfig(i as never), VALID.mesh],
  ];

  it.each(parsers)('the %s parser throws nothing but ConfigError on broken sections', (section, parse) => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        const input = (mutate(mutations) as Record<string, unknown>)[section];
        onlyConfigErrors(parse, input);
      }),
      runs(500),
    );
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (input) => {
        onlyConfigErrors(parse, input);
      }),
      runs(500),
    );
  });
});

describe('a config the parser accepts', () => {
  /** Mutations limited to the core sections: the plugins are not part of createGateway here. */
  const coreMutation = mutation.filter(
    (m) =>
      !['auth', 'rateLimit', 'mesh'].includes(String(m.path[0])) &&
      !(m.kind === 'add' && m.path.length === 0),
  );
  const withoutPlugins = (input: Json) => {
    const { auth: _a, rateLimit: _r, mesh: _m, ...core } = input as Record<string, unknown>;
    return core;
  };

  it('builds a gateway, or is refused with a ConfigError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(coreMutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        const input = withoutPlugins(mutate(mutations));
        const gateway = onlyConfigErrors(
          (i) => createGateway(i as GatewayConfigInput, { logger, plugins: declaring }),
          input,
        ) as ReturnType<typeof createGateway> | undefined;
        await gateway?.close({ graceMs: 0 });
      }),
      runs(1000),
    );
  });

  it('starts listening with the server settings it accepted', async () => {
    const serverMutation = coreMutation.filter((m) => m.path[0] === 'server' && m.path[1] !== 'port');
    await fc.assert(
      fc.asyncProperty(fc.array(serverMutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        const input = withoutPlugins(mutate(mutations)) as { server?: Record<string, unknown> };
        let gateway: ReturnType<typeof createGateway> | undefined;
        try {
          gateway = onlyConfigErrors(
            (i) => createGateway(i as GatewayConfigInput, { logger, plugins: declaring }),
            input,
          ) as typeof gateway;
          // The host is the test's, so a listen error can only come from the settings.
          await gateway?.listen({ port: 0, host: '127.0.0.1' });
        } finally {
          await gateway?.close({ graceMs: 0 });
        }
      }),
      runs(200),
    );
  });
});

/** What the properties above found, kept as plain cases: each passed parsing and then failed at start. */
describe('configs that used to pass the parser and fail later', () => {
  const base = {
    services: { svc: { targets: ['http://127.0.0.1:1'] } },
    routes: [{ prefix: '/a', service: 'svc' }],
  };
  const issuesOf = (input: unknown) => {
    try {
      parseFull(input);
    } catch (err) {
      if (err instanceof ConfigError) return err.issues.map((i) => i.path);
      throw err;
    }
    return [];
  };

  it.each([
    [
      'a route to an inherited "service"',
      { ...base, routes: [{ prefix: '/a', service: 'constructor' }] },
      'routes[0].service',
    ],
    [
      'a route to "__proto__"',
      { ...base, routes: [{ prefix: '/a', service: '__proto__' }] },
      'routes[0].service',
    ],
    ['a prefix with ";"', { ...base, routes: [{ prefix: '/a;b', service: 'svc' }] }, 'routes[0].prefix'],
    [
      'a prefix with an unnamed ":" segment',
      { ...base, routes: [{ prefix: '/a/:', service: 'svc' }] },
      'routes[0].prefix',
    ],
    [
      'a prefix with a control character',
      { ...base, routes: [{ prefix: '/a\tb', service: 'svc' }] },
      'routes[0].prefix',
    ],
    ['a built-in path with ";"', { ...base, builtins: { health: { path: '/h;x' } } }, 'builtins.health.path'],
    [
      'a route host with no name',
      { ...base, routes: [{ prefix: '/a', service: 'svc', host: '::/129' }] },
      'routes[0].host',
    ],
    [
      'a route host with "*" inside',
      { ...base, routes: [{ prefix: '/a', service: 'svc', host: 'a*.example' }] },
      'routes[0].host',
    ],
    [
      'a trusted proxy with an empty mask ("10.0.0.1/" trusted everyone)',
      { ...base, server: { trustProxy: ['10.0.0.1/'] } },
      'server.trustProxy[0]',
    ],
    [
      'a trusted proxy with a mask in hex',
      { ...base, server: { trustProxy: ['10.0.0.0/0x8'] } },
      'server.trustProxy[0]',
    ],
    [
      'a headers timeout longer than the request timeout',
      { ...base, server: { timeouts: { headers: '20s', request: '10s' } } },
      'server.timeouts.headers',
    ],
    [
      'a keep-alive timeout longer than a timer holds',
      { ...base, server: { timeouts: { keepAlive: '30d' } } },
      'server.timeouts.keepAlive',
    ],
    [
      'a service timeout beyond 2^31 ms',
      { ...base, services: { svc: { targets: ['http://127.0.0.1:1'], timeout: 2 ** 31 } } },
      'services.svc.timeout',
    ],
    [
      'a header limit beyond 2^53',
      { ...base, server: { limits: { headers: Number.MAX_VALUE } } },
      'server.limits.headers',
    ],
  ])('refuses %s with a ConfigError naming it', (_name, input, path) => {
    expect(issuesOf(input)).toContain(path);
  });

  it('rounds a fractional duration to whole milliseconds, and the server starts with it', async () => {
    const config = parseFull({ ...base, server: { timeouts: { headers: 1500.4 } } });
    expect(config.server.timeouts.headers).toBe(1500);
    const gateway = createGateway(
      { ...base, server: { timeouts: { headers: 1.5 } } },
      { logger, plugins: declaring },
    );
    try {
      await gateway.listen({ port: 0, host: '127.0.0.1' });
    } finally {
      await gateway.close({ graceMs: 0 });
    }
  });
});
