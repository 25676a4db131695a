import { dashboard, dashboardPluginSchema } from '@lucid/dashboard';
import {
  AUTHENTICATION,
  CERTIFICATES,
  composeConfigSchema,
  type GatewayPlugin,
  type PluginSchema,
} from '@lucid/gateway-core';
import { consulMesh, meshPluginSchema } from '@lucid/mesh-consul';
import { authPluginSchema, jwtAuth, signDevToken } from '@lucid/middleware-auth';
import { cachePluginSchema, responseCache } from '@lucid/middleware-cache';
import { rateLimitPluginSchema, rateLimitPlugins } from '@lucid/middleware-ratelimit';
import {
  type OpenApiPlugin,
  openapi,
  openapiPluginSchema,
  requestValidation,
  validationPluginSchema,
} from '@lucid/openapi';
import { tracing, tracingPluginSchema } from '@lucid/tracing';

interface BuildOptions {
  /** False in all but one `--workers` process: they share one port, so one Consul registration. */
  register?: boolean;
}

/** One plugin package as the CLI wires it: the config section that turns it on, and how it is built. */
interface Wiring {
  section: string;
  schema: PluginSchema;
  /** What the plugins built from the section provide (see `GatewayPlugin.provides`). */
  provides: readonly string[];
  /** Built whether or not its section is written (with the section's defaults then). */
  always?: boolean;
  /** `input` is the whole config as written, for a plugin that reuses another section's settings. */
  build(section: unknown, opts: BuildOptions, input: Record<string, unknown>): GatewayPlugin[];
}

/** The one place where config meets plugins: each package owns its schema; the CLI only connects them. */
const WIRING: readonly Wiring[] = [
  {
    section: 'auth',
    schema: authPluginSchema,
    provides: [AUTHENTICATION],
    build: (section) => [jwtAuth(section as Parameters<typeof jwtAuth>[0])],
  },
  {
    section: 'rateLimit',
    schema: rateLimitPluginSchema,
    provides: [],
    // The pre-auth limiter (when `preAuth` is set) comes with it, ordered before authentication.
    build: (section) => rateLimitPlugins(section as Parameters<typeof rateLimitPlugins>[0]),
  },
  {
    section: 'cache',
    schema: cachePluginSchema,
    provides: [],
    // Always there: a route's `cache: true` works with the memory store's defaults, no section needed.
    always: true,
    // Redis left out of `cache:` means the rate limiter's connection settings.
    build: (section, _opts, input) => [
      responseCache(section as Parameters<typeof responseCache>[0], {
        redis: (input.rateLimit as { redis?: { url?: string } } | undefined)?.redis,
      }),
    ],
  },
  {
    section: 'mesh',
    schema: meshPluginSchema,
    provides: ['discovery:consul'],
    build: (section, opts) => {
      let mesh = section as Parameters<typeof consulMesh>[0];
      if (opts.register === false && mesh?.consul?.register) {
        const { register: _, ...consul } = mesh.consul;
        mesh = { ...mesh, consul };
      }
      return [consulMesh(mesh)];
    },
  },
  {
    section: 'tracing',
    schema: tracingPluginSchema,
    provides: [],
    // The OpenTelemetry packages load here, when the config has a tracing section: never otherwise.
    build: (section) => [tracing(section as Parameters<typeof tracing>[0])],
  },
];

/**
 * The packages the CLI always assembles (their config is core's as it always was: `openapi`,
 * `services.<name>.openapi`, `builtins.openapi`, `builtins.docs`, `builtins.ui`).
 */
const ASSEMBLED: readonly PluginSchema[] = [
  openapiPluginSchema,
  validationPluginSchema,
  dashboardPluginSchema,
];

/** Every plugin schema the CLI knows, composed with core's: what a config file may hold. */
export const cliSchema = composeConfigSchema([...ASSEMBLED, ...WIRING.map((w) => w.schema)]);

/** The names of the plugins every CLI gateway has, whatever its config. */
const ASSEMBLED_NAMES: ReadonlySet<string> = new Set(ASSEMBLED.map((s) => s.name));

/**
 * The plugins a config turned on, for the start line: not the assembled ones, nor one built always
 * (the cache) whose section the config leaves out.
 */
export function configuredPluginNames(
  plugins: readonly GatewayPlugin[],
  input: Record<string, unknown>,
): string[] {
  const unwritten = new Set(
    WIRING.filter((w) => w.always && input[w.section] === undefined).map((w) => w.schema.name),
  );
  return plugins.flatMap((p) => (ASSEMBLED_NAMES.has(p.name) || unwritten.has(p.name) ? [] : [p.name]));
}

/** The API reference (with request validation over its documents) and the dashboard, as every CLI gateway has them. */
export function assembledPlugins(): [OpenApiPlugin, ...GatewayPlugin[]] {
  const docs = openapi();
  return [docs, requestValidation(() => docs.catalog), dashboard()];
}

/** Whether the config asks for ACME certificates (`server.tls.acme`). */
function wantsAcme(input: Record<string, unknown>): boolean {
  const server = input.server as { tls?: { acme?: unknown } } | undefined;
  return server?.tls?.acme !== undefined;
}

/** What the plugins a config turns on will provide (`authentication` when it has an `auth` section). */
export function providedBy(input: Record<string, unknown>): string[] {
  return [
    ...WIRING.filter((w) => input[w.section] !== undefined).flatMap((w) => w.provides),
    ...(wantsAcme(input) ? [CERTIFICATES] : []),
  ];
}

/**
 * The ACME engine when the config has `server.tls.acme`: imported only then, so a gateway without it
 * never loads acme-client and what it brings (axios, node-forge).
 */
export async function certificatePlugins(input: Record<string, unknown>): Promise<GatewayPlugin[]> {
  if (!wantsAcme(input)) return [];
  const { acmeCertificates } = await import('@lucid/acme');
  return [acmeCertificates()];
}

/**
 * Builds the plugins a config asks for, from its sections as written (each factory checks its
 * own options); the gateway orders them by `plugin.order`.
 *
 * @example const gateway = createGateway(input, { plugins: buildPlugins(input) })
 */
export function buildPlugins(input: Record<string, unknown>, opts: BuildOptions = {}): GatewayPlugin[] {
  return [
    ...assembledPlugins(),
    ...WIRING.filter((w) => w.always || input[w.section] !== undefined).flatMap((w) =>
      w.build(input[w.section], opts, input),
    ),
  ];
}

/**
 * Plugins that only declare (schemas, what they provide, discovery that never reports): a gateway
 * built with them reads a config exactly as the real one would, and contacts nothing.
 */
export function standInPlugins(input: Record<string, unknown>): GatewayPlugin[] {
  const declaring: GatewayPlugin[] = WIRING.map((w) => ({
    name: `${w.schema.name} (stand-in)`,
    schema: w.schema,
    provides: input[w.section] !== undefined ? w.provides : [],
  }));
  if (wantsAcme(input)) declaring.push({ name: 'acme (stand-in)', provides: [CERTIFICATES] });
  const discovering: GatewayPlugin[] = WIRING.flatMap((w) => w.schema.discovery ?? []).map((kind) => ({
    name: `${kind} discovery (stand-in)`,
    discovery: { name: kind, watch: () => () => {} },
  }));
  const assembled: GatewayPlugin[] = ASSEMBLED.map((schema) => ({
    name: `${schema.name} (stand-in)`,
    schema,
  }));
  return [...assembled, ...declaring, ...discovering];
}

/** The sections whose changes only a restart applies (plugins are built once per process). */
export const PLUGIN_SECTIONS = WIRING.map((w) => w.section);

export { signDevToken };
