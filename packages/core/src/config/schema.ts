import { isIP } from 'node:net';
import { z } from 'zod';
import { normalizePath } from '../http/normalize-path.js';
import { didYouMean } from './suggest.js';
import { parseDuration, parseRate, parseSize } from './units.js';

// Node's timers hold at most 2^31-1 ms; a longer one fires after 1 ms instead.
const MAX_DURATION_MS = 2_147_483_647;

/** `30s`, `500ms`, `2m`, or a number of milliseconds (at most 24 days). */
export const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" is not a duration (write it like "30s", "500ms" or "2m")`,
    });
    return z.NEVER;
  }
  if (ms > MAX_DURATION_MS) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is too long: at most 24 days ("24d")` });
    return z.NEVER;
  }
  // Whole milliseconds, as Node's server timeouts require.
  return Math.round(ms);
});

/** `10mb`, `16kb`, or a number of bytes. */
export const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const bytes = parseSize(v);
  if (bytes === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" is not a size (write it like "10mb", "16kb" or "512b")`,
    });
    return z.NEVER;
  }
  if (!Number.isSafeInteger(bytes)) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is too large` });
    return z.NEVER;
  }
  return bytes;
});

/** `100/min`, `10/s`, `5/10s`. */
export const rate = z.string().transform((v, ctx) => {
  const r = parseRate(v);
  if (r === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" is not a rate (write it like "100/min", "10/s" or "1000/hour")`,
    });
    return z.NEVER;
  }
  return r;
});

const cidr = z.string().refine(
  (v) => {
    const [addr, bits, extra] = v.split('/');
    if (extra !== undefined || !addr || !isIP(addr)) return false;
    if (bits === undefined) return true;
    // Digits only: Number('') is 0, and "10.0.0.1/" would trust every address.
    if (!/^\d{1,3}$/.test(bits)) return false;
    const n = Number(bits);
    return Number.isInteger(n) && n >= 0 && n <= (isIP(addr) === 4 ? 32 : 128);
  },
  { message: 'expected an IP address or a CIDR like "10.0.0.0/8"' },
);

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const method = z
  .string()
  .transform((m) => m.toUpperCase())
  .pipe(z.enum(HTTP_METHODS, { message: `expected one of ${HTTP_METHODS.join(', ')}` }));

const upstreamUrl = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return (
        (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && !u.username && !u.hash
      );
    } catch {
      return false;
    }
  },
  { message: 'expected an http:// or https:// URL like "http://lucid-auth-service:8089"' },
);

const target = z.union([
  upstreamUrl.transform((url) => ({ url, weight: 1 })),
  z.strictObject({ url: upstreamUrl, weight: z.number().int().min(1).max(1000).default(1) }),
]);

const authPolicy = z.enum(['required', 'public'], { message: 'expected "required" or "public"' });

const healthCheck = z.strictObject({
  path: z.string().startsWith('/').default('/health'),
  /** Unset: the top-level `health.interval` / `health.timeout`. */
  interval: duration.optional(),
  timeout: duration.optional(),
  healthyThreshold: z.number().int().min(1).default(2),
  unhealthyThreshold: z.number().int().min(1).default(3),
});

const tls = z.strictObject({
  ca: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
  servername: z.string().optional(),
  rejectUnauthorized: z.boolean().default(true),
});

/** Where a service's OpenAPI document lives: a path on its targets, or a local file (JSON or YAML). */
const openapiSource = z.union([
  z
    .string()
    .startsWith('/', { message: 'a path on the service, like "/openapi.json" (or { file: ./auth.yaml })' })
    .transform((path): { path: string } | { file: string } => ({ path })),
  z
    .strictObject({
      /** A path on the service's targets, fetched through its pool. */
      path: z.string().startsWith('/').optional(),
      /** A local JSON or YAML file (relative to the working folder). */
      file: z.string().min(1).optional(),
    })
    .transform((v, ctx): { path: string } | { file: string } => {
      if ((v.path === undefined) === (v.file === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'give either "path" or "file", not both' });
        return z.NEVER;
      }
      return v.file !== undefined ? { file: v.file } : { path: v.path! };
    }),
]);

export const serviceSchema = z
  .strictObject({
    targets: z.array(target).default([]),
    discovery: z.enum(['static', 'consul']).default('static'),
    /** Options for the discovery provider (e.g. Consul's service name, tag, datacenter). */
    consul: z
      .strictObject({
        service: z.string().optional(),
        tag: z.string().optional(),
        dc: z.string().optional(),
        ns: z.string().optional(),
      })
      .default({}),
    /** Time allowed for the upstream's response headers. */
    timeout: duration.default(30_000),
    timeouts: z
      .strictObject({ connect: duration.default(5_000), idle: duration.default(60_000) })
      .default({ connect: 5_000, idle: 60_000 }),
    health: z
      .union([
        z
          .string()
          .startsWith('/')
          .transform((path) => healthCheck.parse({ path })),
        healthCheck,
        z.literal(false),
      ])
      .optional(),
    balancer: z.enum(['least-request', 'round-robin']).default('least-request'),
    retry: z
      .strictObject({
        /** Retries after the first try (idempotent, body-less requests that failed before any answer). */
        attempts: z.number().int().min(0).max(5).default(2),
        /** Retries as a share of the last 10s of requests (plus 10), so retries cannot multiply an outage. */
        budget: z.number().min(0).max(1).default(0.2),
      })
      .default({ attempts: 2, budget: 0.2 }),
    /** Per target: consecutive connect failures or timeouts open it (fast 503s); a probe after `cooldown`. */
    breaker: z
      .strictObject({ failures: z.number().int().min(1).default(5), cooldown: duration.default(10_000) })
      .default({ failures: 5, cooldown: 10_000 }),
    /** Consecutive 5xx or failed connections eject a target for `ejection`, doubling up to `maxEjection`. */
    outlier: z
      .strictObject({
        failures: z.number().int().min(1).default(5),
        ejection: duration.default(10_000),
        maxEjection: duration.default(300_000),
      })
      .default({ failures: 5, ejection: 10_000, maxEjection: 300_000 }),
    tls: tls.optional(),
    /** Forward the client's Host header instead of the target's. */
    preserveHost: z.boolean().default(false),
    openapi: openapiSource.optional(),
    /** `false` streams request bodies always; by default small ones are read whole first. */
    requestBuffering: z.boolean().default(true),
    /** Most requests in flight to one target; more wait in `queue` (unset: no cap). */
    maxConnections: z.number().int().min(1).optional(),
    /** The bounded wait for a connection under `maxConnections`: full or timed out -> 503 with Retry-After. */
    queue: z
      .strictObject({ size: z.number().int().min(0).default(100), timeout: duration.default(5_000) })
      .default({ size: 100, timeout: 5_000 }),
  })
  .superRefine((svc, ctx) => {
    if (svc.discovery === 'static' && svc.targets.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['targets'],
        message: 'a service needs at least one target (or "discovery: consul")',
      });
    }
  });

/** A path the router can match: plain, and left as it is by the request-path normalizer. */
const pathPrefix = z
  .string()
  .startsWith('/', { message: 'a prefix starts with "/"' })
  .refine((p) => !/[?#%\\]|\/\/|\/\.\.?(\/|$)/.test(p), {
    message: 'a prefix is a plain path like "/auth"',
  })
  .refine(normalizes, { message: 'a prefix is a plain path like "/auth" (no ";", no control characters)' })
  .refine((p) => !/\/:(\/|$)/.test(p), { message: 'a ":" segment needs a name, like "/:id"' });

function normalizes(path: string): boolean {
  try {
    normalizePath(path);
    return true;
  } catch {
    return false;
  }
}

/** A Host the router can match: `*`, a name or `[v6]` (a port is ignored), or `*.` and a name. */
function isHostPattern(host: string): boolean {
  if (host === '' || host === '*') return true;
  const close = host.indexOf(']');
  let name = host.startsWith('[')
    ? host.slice(0, close === -1 ? host.length : close + 1)
    : host.split(':')[0]!;
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.startsWith('*.')) return name.length > 2 && !name.includes('*', 1);
  return name !== '' && !name.includes('*');
}

export const routeSchema = z.strictObject({
  /** Path prefix, matched on segment boundaries; `:name` segments match any one segment. */
  prefix: pathPrefix,
  service: z.string(),
  name: z.string().optional(),
  methods: z.array(method).nonempty().optional(),
  host: z
    .string()
    .toLowerCase()
    .refine(isHostPattern, { message: 'a host is a name like "api.example.com", "*.example.com" or "*"' })
    .optional(),
  stripPrefix: z.boolean().default(true),
  auth: authPolicy.default('required'),
  scopes: z.array(z.string()).default([]),
  /** Claims that must equal (one of) the given values, e.g. `{ role: [admin, ops] }`. */
  claims: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  /** `false` turns limiting off; a rate overrides the tier's; an object overrides per tier. */
  rateLimit: z.union([z.literal(false), rate, z.record(z.string(), rate)]).optional(),
  /** Response-header timeout for this route (overrides the service's `timeout`). */
  timeout: duration.optional(),
  /** Connect and idle timeouts for this route (override the service's `timeouts`). */
  timeouts: z.strictObject({ connect: duration.optional(), idle: duration.optional() }).optional(),
  /** WebSocket upgrades on this route; `origins` replaces `server.cors.origins` for their Origin check. */
  websocket: z
    .union([z.boolean(), z.strictObject({ origins: z.array(z.string()).optional() })])
    .default(true),
  /** `false` streams request bodies always (overrides the service's). */
  requestBuffering: z.boolean().optional(),
  /** `rewrite`: Location / Content-Location naming the upstream become the gateway's; `preserve`: as sent. */
  redirects: z.enum(['rewrite', 'preserve']).default('rewrite'),
});

const builtin = (path: string) =>
  z
    .union([
      z.literal(false),
      z.strictObject({
        path: pathPrefix.default(path),
        auth: authPolicy.default('public'),
        scopes: z.array(z.string()).default([]),
      }),
    ])
    .default({ path, auth: 'public', scopes: [] });

const UI_DEFAULTS: { path: string; refresh: number; auth?: 'required' | 'public'; scopes?: string[] } = {
  path: '/ui',
  refresh: 2_000,
};

/**
 * The dashboard: off unless asked for (`true` or an object). `auth` and `scopes` left out mean: when
 * a plugin authenticates, require a token with the `admin` scope; else public.
 */
const uiBuiltin = z
  .union([
    z.literal(false),
    z.literal(true).transform(() => ({ ...UI_DEFAULTS })),
    z.strictObject({
      path: pathPrefix
        .refine((p) => p !== '/', { message: 'the dashboard needs a path of its own, like "/ui"' })
        .default(UI_DEFAULTS.path),
      auth: authPolicy.optional(),
      scopes: z.array(z.string()).optional(),
      /** How often the page polls its state. */
      refresh: duration
        .refine((ms) => ms >= 250, { message: 'at least "250ms" (the page polls this often)' })
        .default(UI_DEFAULTS.refresh),
    }),
  ])
  .default(false);

/** How the services' OpenAPI documents are fetched and merged (served by builtins.openapi and builtins.docs). */
export const openapiSchema = z.strictObject({
  /** How often each service's document is fetched again (it is also fetched at start and on reload). */
  refresh: duration.default(300_000),
  /** Time allowed for one document's fetch, headers and body. */
  timeout: duration.default(10_000),
  /** Largest document accepted; a bigger one counts as a failed fetch. */
  maxSize: size.default(5 * 1024 ** 2),
  /** The gateway's public origin for `servers` (default: the origin the client used, from trusted headers). */
  publicUrl: z.url({ protocol: /^https?$/, message: 'expected an http:// or https:// URL' }).optional(),
  title: z.string().default('Lucid API'),
  version: z.string().default('1.0.0'),
});

/** `"1kb/s"` (over the default 10 s window), `"10kb/10s"` (per window), or bytes per second. */
const bodyRate = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const [amount, per = 's']: [string | number, string?] =
    typeof v === 'number' ? [v] : (v.split('/') as [string, string?]);
  const bytes = parseSize(amount);
  const window = parseDuration(/^\d/.test(per) ? per : `1${per}`);
  if (bytes === undefined || window === undefined || window <= 0 || !per) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}" is not a rate of bytes (write it like "1kb/s" or "10kb/10s")`,
    });
    return z.NEVER;
  }
  const perSecond = (bytes * 1000) / window;
  return { rate: perSecond, window: per === 's' ? 10_000 : Math.round(window) };
});

export const serverSchema = z.strictObject({
  host: z.string().default('0.0.0.0'),
  port: z.number().int().min(0).max(65_535).default(8080),
  /** CIDRs whose X-Forwarded-For / -Proto / -Host are believed. */
  trustProxy: z.array(cidr).default([]),
  limits: z
    .strictObject({
      body: size.default(10 * 1024 ** 2),
      headers: size.default(16 * 1024),
      /** Open client connections; past it a new one is closed at accept (0: no cap). */
      connections: z.number().int().min(0).default(10_000),
      /** Bodies up to this size are read whole before an upstream connection is taken (0: never); default 64kb or `body`. */
      bufferBody: size.optional(),
      /** Bytes all buffered bodies may hold together; past it a body streams instead. */
      bufferTotal: size.default(32 * 1024 ** 2),
      /** A body arriving slower than `rate` bytes/s over `window` is refused with 408 (false: off). */
      minBodyRate: z
        .union([
          z.literal(false),
          z.strictObject({ rate: size.default(1024), window: duration.default(10_000) }),
          bodyRate,
        ])
        .default({ rate: 1024, window: 10_000 }),
    })
    .refine((l) => l.bufferBody === undefined || l.bufferBody <= l.body, {
      message: 'must not be larger than limits.body',
      path: ['bufferBody'],
    })
    .refine((l) => l.minBodyRate === false || l.minBodyRate.window > 0, {
      message: 'window must be longer than 0',
      path: ['minBodyRate', 'window'],
    })
    .transform((l) => ({ ...l, bufferBody: l.bufferBody ?? Math.min(64 * 1024, l.body) }))
    .default({
      body: 10 * 1024 ** 2,
      headers: 16 * 1024,
      connections: 10_000,
      bufferBody: 64 * 1024,
      bufferTotal: 32 * 1024 ** 2,
      minBodyRate: { rate: 1024, window: 10_000 },
    }),
  timeouts: z
    .strictObject({
      headers: duration.default(10_000),
      request: duration.default(60_000),
      // Longer than common load balancers' idle timeout (AWS ALB: 60s), so they close first.
      keepAlive: duration.default(65_000),
      shutdown: duration.default(30_000),
    })
    // Node refuses to start otherwise: the request's time includes its headers' (0 turns it off).
    .refine((t) => t.request === 0 || t.headers <= t.request, {
      message: 'must not be longer than timeouts.request',
      path: ['headers'],
    })
    .default({ headers: 10_000, request: 60_000, keepAlive: 65_000, shutdown: 30_000 }),
  cors: z
    .strictObject({
      origins: z.array(z.string()).default([]),
      credentials: z.boolean().default(false),
      methods: z.array(method).default([...HTTP_METHODS]),
      headers: z.array(z.string()).default(['authorization', 'content-type', 'x-request-id']),
      exposeHeaders: z
        .array(z.string())
        .default(['x-request-id', 'retry-after', 'ratelimit', 'ratelimit-policy']),
      maxAge: duration.default(600_000),
    })
    .refine((c) => !(c.credentials && c.origins.includes('*')), {
      message: 'origins: ["*"] cannot be used with credentials: true (list the origins instead)',
      path: ['origins'],
    })
    .optional(),
  allowedHosts: z.array(z.string().toLowerCase()).default(['*']),
  /** Which engine forwards plain HTTP; WebSockets always use http-proxy-3. */
  engine: z.enum(['undici', 'http-proxy']).default('undici'),
});

export const gatewayConfigSchema = z
  .strictObject({
    name: z.string().default('lucid-api-gateway'),
    server: serverSchema.default(serverSchema.parse({})),
    logging: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        pretty: z.union([z.boolean(), z.literal('auto')]).default('auto'),
        accessLog: z.boolean().default(true),
      })
      .default({ level: 'info', pretty: 'auto', accessLog: true }),
    builtins: z
      .strictObject({
        root: builtin('/'),
        health: builtin('/health'),
        metrics: builtin('/metrics'),
        openapi: builtin('/openapi.json'),
        docs: builtin('/docs'),
        ui: uiBuiltin,
      })
      .default({
        root: { path: '/', auth: 'public', scopes: [] },
        health: { path: '/health', auth: 'public', scopes: [] },
        metrics: { path: '/metrics', auth: 'public', scopes: [] },
        openapi: { path: '/openapi.json', auth: 'public', scopes: [] },
        docs: { path: '/docs', auth: 'public', scopes: [] },
        ui: false,
      }),
    openapi: openapiSchema.default(openapiSchema.parse({})),
    /** Defaults for every service's background checks (those that feed /health and pick targets). */
    health: z
      .strictObject({ interval: duration.default(10_000), timeout: duration.default(2_000) })
      .default({ interval: 10_000, timeout: 2_000 }),
    services: z.record(z.string().regex(/^[a-zA-Z0-9_.-]+$/), serviceSchema).default({}),
    routes: z.array(routeSchema).default([]),
    // Sections owned by plugins; each plugin validates its own (the CLI composes the full schema).
    auth: z.unknown().optional(),
    rateLimit: z.unknown().optional(),
    mesh: z.unknown().optional(),
  })
  .superRefine((cfg, ctx) => {
    const names = Object.keys(cfg.services);
    cfg.routes.forEach((route, i) => {
      // Own keys only: "constructor" or "__proto__" must not pass as a service.
      if (!Object.hasOwn(cfg.services, route.service)) {
        const hint = didYouMean(route.service, names);
        ctx.addIssue({
          code: 'custom',
          path: ['routes', i, 'service'],
          message: `unknown service "${route.service}"${hint ? ` (did you mean "${hint}"?)` : names.length ? ` (known: ${names.join(', ')})` : ' (add it under "services")'}`,
        });
      }
    });
  });

export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
export type ServiceConfig = z.output<typeof serviceSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type ServerConfig = z.output<typeof serverSchema>;
export type OpenApiConfig = z.output<typeof openapiSchema>;
export type OpenApiSource = z.output<typeof openapiSource>;
export type HealthCheckConfig = z.output<typeof healthCheck>;
export type UiConfig = Exclude<z.output<typeof uiBuiltin>, false>;
