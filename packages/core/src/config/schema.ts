import { z } from 'zod';
import type { BuiltinSpec } from '../builtins/spec.js';
import { CORE_BUILTINS } from '../builtins/table.js';
import type {
  GatewayConfigExtensions,
  RouteOptionsExtensions,
  ServiceOptionsExtensions,
} from './extensions.js';
import { serverTls } from './server-tls.js';
import {
  authPolicy,
  bodyRate,
  cidr,
  duration,
  HTTP_METHODS,
  hostPattern,
  method,
  pathPrefix,
  positiveDuration,
  size,
  upstreamUrl,
} from './values.js';

export * from './server-tls.js';
export * from './values.js';

const target = z.union([
  upstreamUrl.transform((url) => ({ url, weight: 1 })),
  z.strictObject({ url: upstreamUrl, weight: z.number().int().min(1).max(1000).default(1) }),
]);

const healthCheck = z.strictObject({
  path: z.string().startsWith('/', { message: 'a path starts with "/"' }).default('/health'),
  /**
   * Check with the gRPC health checking protocol (grpc.health.v1.Health/Check over HTTP/2) instead
   * of an HTTP GET of `path`: `true` asks about the server as a whole, a string about that service.
   */
  grpc: z
    .union([
      z.boolean(),
      z
        .string()
        .min(1, {
          message: 'a gRPC service name like "lucid.sessions.v1.Sessions" (or true for the whole server)',
        })
        .regex(/^[A-Za-z0-9_.\-/]+$/, {
          message: 'expected a gRPC service name like "lucid.sessions.v1.Sessions"',
        }),
    ])
    .optional(),
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

/** Core's settings of a service; plugins add theirs (`ConfigParts.service`). */
const serviceShape = {
  targets: z.array(target).default([]),
  /** Time allowed for the upstream's response headers. */
  timeout: positiveDuration.default(30_000),
  timeouts: z
    .strictObject({ connect: positiveDuration.default(5_000), idle: positiveDuration.default(60_000) })
    .default({ connect: 5_000, idle: 60_000 }),
  health: z
    .union([
      z
        .string()
        .startsWith('/', { message: 'a path starts with "/"' })
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
  /**
   * Speak HTTP/2 to the targets: over TLS with ALPN "h2" for https:// targets, cleartext with prior
   * knowledge (h2c) for http:// ones. h2c:// targets imply it. WebSocket is not carried to such a service.
   */
  http2: z.boolean().optional(),
  /** Forward the client's Host header instead of the target's. */
  preserveHost: z.boolean().default(false),
  /** `false` streams request bodies always; by default small ones are read whole first. */
  requestBuffering: z.boolean().default(true),
  /**
   * Requests in flight per target (not TCP connections): the service admits this many times its
   * targets in rotation, one count across reloads; more wait in `queue` (unset: no cap).
   */
  maxConnections: z.number().int().min(1).optional(),
  /** The bounded wait for a connection under `maxConnections`: full or timed out -> 503 with Retry-After. */
  queue: z
    .strictObject({ size: z.number().int().min(0).default(100), timeout: duration.default(5_000) })
    .default({ size: 100, timeout: 5_000 }),
};

/** Core's settings of a route; plugins add theirs (`ConfigParts.route`). */
const routeShape = {
  /** Path prefix, matched on segment boundaries; `:name` segments match any one segment. */
  prefix: pathPrefix,
  service: z.string(),
  name: z.string().optional(),
  methods: z
    .array(method)
    .nonempty({ message: 'list at least one method, or leave "methods" out' })
    .optional(),
  host: hostPattern.optional(),
  stripPrefix: z.boolean().default(true),
  /** Fail closed: a route needs a verified identity unless it says `public`. */
  auth: authPolicy.default('required'),
  /** Scopes the verified identity must hold (core checks them: 403 naming the first one missing). */
  scopes: z.array(z.string()).default([]),
  /** Response-header timeout for this route (overrides the service's `timeout`). */
  timeout: positiveDuration.optional(),
  /** Connect and idle timeouts for this route (override the service's `timeouts`). */
  timeouts: z
    .strictObject({ connect: positiveDuration.optional(), idle: positiveDuration.optional() })
    .optional(),
  /** WebSocket upgrades on this route; `origins` replaces `server.cors.origins` for their Origin check. */
  websocket: z
    .union([z.boolean(), z.strictObject({ origins: z.array(z.string()).optional() })])
    .default(true),
  /** `false` streams request bodies always (overrides the service's). */
  requestBuffering: z.boolean().optional(),
  /**
   * Bridge gRPC-Web (browsers): `application/grpc-web[-text]` calls go to the service as gRPC over
   * HTTP/2 and their answers come back as gRPC-Web; with `server.cors`, preflights allow its headers.
   */
  grpcWeb: z.boolean().default(false),
  /** `rewrite`: Location / Content-Location naming the upstream become the gateway's; `preserve`: as sent. */
  redirects: z.enum(['rewrite', 'preserve']).default('rewrite'),
};

/** The identity headers a client must never set: stripped on every route by core (plugins add theirs). */
export const DEFAULT_IDENTITY_HEADERS = ['x-user-id', 'x-user-tier', 'x-user-scopes'];

const headerName = z
  .string()
  .toLowerCase()
  .regex(/^[!#$%&'*+.^_`|~0-9a-z-]+$/, { message: 'expected a header name like "x-user-id"' });

/** HTTP/2 on the client side: over TLS by ALPN, in cleartext (h2c) by prior knowledge. */
const serverHttp2 = z.strictObject({
  /** Serve HTTP/2 at all (false: HTTP/1.1 only, on TLS and cleartext alike). */
  enabled: z.boolean().default(true),
  /** Accept cleartext HTTP/2 with prior knowledge (gRPC inside a network) next to HTTP/1.1 on a plain port. */
  cleartext: z.boolean().default(true),
  /** Streams one client connection may have open at once; more are refused (REFUSED_STREAM). */
  maxConcurrentStreams: z.number().int().min(1).max(10_000).default(100),
  /** Header fields in one request (pseudo-headers included); more resets the stream. */
  maxHeaderPairs: z.number().int().min(8).max(10_000).default(1_000),
  /**
   * Stream resets a client may send (RST_STREAM, CVE-2023-44487 "rapid reset"): a burst, then a rate
   * per second; past it the connection is closed (GOAWAY ENHANCE_YOUR_CALM).
   */
  resets: z
    .strictObject({
      burst: z.number().int().min(1).default(200),
      rate: z.number().int().min(1).default(50),
    })
    .default({ burst: 200, rate: 50 }),
  /** Memory nghttp2 may hold for one connection (headers, queued frames) before it refuses more. */
  maxSessionMemory: size.default(8 * 1024 ** 2),
});

export const serverSchema = z.strictObject({
  host: z.string().default('0.0.0.0'),
  port: z.number().int().min(0).max(65_535).default(8080),
  /** Serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN) on `port` instead of cleartext. */
  tls: serverTls.optional(),
  /**
   * A listener for operators (plain HTTP): `/metrics`, the dashboard and the detailed `/health` move
   * here, and the public port keeps `/health/live`, `/health/ready` and a summary `/health`.
   */
  admin: z
    .strictObject({
      port: z.number().int().min(0).max(65_535),
      host: z.string().min(1).default('127.0.0.1'),
    })
    .optional(),
  http2: serverHttp2.default(serverHttp2.parse({})),
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
      /** A body (buffered or streamed) arriving slower than `rate` bytes/s over `window` gets 408 (false: off). */
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
  allowedHosts: z.array(hostPattern).default(['*']),
  /**
   * More headers that carry a verified identity upstream. A client's own copies of these, of the
   * defaults (`x-user-id`, `x-user-tier`, `x-user-scopes`) and of every header a plugin forwards
   * (`auth.forward`) are dropped on every route and upgrade: this list only adds to that set.
   */
  identityHeaders: z.array(headerName).optional(),
  /** Which engine forwards plain HTTP (WebSockets have their own tunnel). */
  engine: z.enum(['undici', 'http-proxy']).default('undici'),
});

/** `builtins.<name>`: `false`, or where it is mounted, who may call it, and its own options. */
const builtin = (spec: BuiltinSpec) => {
  const settings = z.strictObject({
    path: pathPrefix.default(spec.path),
    // With `access`, what is left out is the built-in's to decide (given what the plugins provide).
    auth: spec.access ? authPolicy.optional() : authPolicy.default('public'),
    scopes: spec.access ? z.array(z.string()).optional() : z.array(z.string()).default([]),
    ...spec.options,
  });
  type Settings = z.output<typeof settings>;
  if (!spec.optIn) return z.union([z.literal(false), settings]).default(settings.parse({}) as Settings);
  // Off by default; `true` turns it on with its defaults.
  const on = z.literal(true).transform(() => settings.parse({}) as Settings);
  return z.union([z.literal(false), on, settings]).default(false);
};

/** `builtins`: core's own, then each plugin's, by name. */
const builtinsSchema = (plugins: Readonly<Record<string, BuiltinSpec>>) =>
  z
    .strictObject(
      Object.fromEntries(
        Object.entries({ ...CORE_BUILTINS, ...plugins }).map(([name, spec]) => [
          name,
          builtin(spec as BuiltinSpec),
        ]),
      ) as Record<keyof typeof CORE_BUILTINS, ReturnType<typeof builtin>> &
        Record<string, ReturnType<typeof builtin>>,
    )
    .prefault({});

/** What plugins add to the config: extra keys on a route or a service, top-level sections, discovery kinds. */
export interface ConfigParts {
  route: z.ZodRawShape;
  service: z.ZodRawShape;
  sections: z.ZodRawShape;
  /** Discovery kinds besides `static`. */
  discovery: readonly string[];
  /** Built-ins besides core's, by name. */
  builtins?: Readonly<Record<string, BuiltinSpec>>;
}

const NO_PARTS: ConfigParts = { route: {}, service: {}, sections: {}, discovery: [] };

/**
 * Builds the one config schema from core's settings and what plugins add. The semantic checks
 * (unknown services, fail-closed auth, ...) are not in it: `validateConfig` runs both in one pass.
 */
export function buildConfigSchema(parts: ConfigParts = NO_PARTS) {
  const kinds = ['static', ...parts.discovery] as [string, ...string[]];
  const service = z
    .strictObject({
      ...serviceShape,
      discovery: z
        .enum(kinds, {
          message: `expected ${kinds.map((k) => `"${k}"`).join(' or ')}${parts.discovery.length === 0 ? ' (other kinds come with a plugin)' : ''}`,
        })
        .default('static'),
      ...parts.service,
    })
    .superRefine((svc, ctx) => {
      if (svc.discovery === 'static' && svc.targets.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets'],
          message: `a service needs at least one target${parts.discovery.length ? ` (or "discovery: ${parts.discovery[0]}")` : ''}`,
        });
      }
    });
  const route = z.strictObject({ ...routeShape, ...parts.route });
  const config = z.strictObject({
    name: z.string().default('lucid-api-gateway'),
    server: serverSchema.default(serverSchema.parse({})),
    logging: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        pretty: z.union([z.boolean(), z.literal('auto')]).default('auto'),
        accessLog: z.boolean().default(true),
      })
      .default({ level: 'info', pretty: 'auto', accessLog: true }),
    builtins: builtinsSchema(parts.builtins ?? {}),
    /** Defaults for every service's background checks (those that feed /health and pick targets). */
    health: z
      .strictObject({ interval: duration.default(10_000), timeout: duration.default(2_000) })
      .default({ interval: 10_000, timeout: 2_000 }),
    services: z
      .record(
        z
          .string()
          .regex(/^[a-zA-Z0-9_.-]+$/, { message: 'a service name is letters, digits, "_", "." and "-"' }),
        service,
      )
      .default({}),
    routes: z.array(route).default([]),
    ...parts.sections,
  });
  return { config, route, service };
}

const core = buildConfigSchema();
/** Core's schemas alone (no plugin's settings). */
export const gatewayConfigSchema = core.config;
export const routeSchema = core.route;
export const serviceSchema = core.service;

/** What a plugin added to a route, a service or the config: core does not know its type. */
type PluginOwned = { readonly [option: string]: unknown };

/**
 * A config as written: core's keys, and the sections and options of the plugins whose packages are
 * imported (they declare them on `GatewayConfigExtensions`, `RouteOptionsExtensions` and
 * `ServiceOptionsExtensions`). Any other key is a compile error naming it. A config from a file
 * (`unknown`) is checked at run time by the schema instead.
 */
export type GatewayConfigInput = Omit<z.input<typeof gatewayConfigSchema>, 'services' | 'routes'> & {
  services?: Record<string, z.input<typeof serviceSchema> & ServiceOptionsExtensions>;
  routes?: Array<z.input<typeof routeSchema> & RouteOptionsExtensions>;
} & GatewayConfigExtensions;
export type ServiceConfig = z.output<typeof serviceSchema> & PluginOwned;
export type RouteConfig = z.output<typeof routeSchema> & PluginOwned;
export type GatewayConfig = Omit<z.output<typeof gatewayConfigSchema>, 'services' | 'routes'> & {
  services: Record<string, ServiceConfig>;
  routes: RouteConfig[];
} & PluginOwned;
export type ServerConfig = z.output<typeof serverSchema>;
export type HealthCheckConfig = z.output<typeof healthCheck>;
export type BuiltinConfig = Exclude<GatewayConfig['builtins'][string], false>;
