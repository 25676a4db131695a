import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { GatewayConfig } from '../config/schema.js';
import { authPolicy, duration, pathPrefix } from '../config/values.js';
import { dashboardAccess } from '../dashboard/access.js';
import { dashboardHandler } from '../dashboard/handler.js';
import type { ReloadLog } from '../dashboard/reload-log.js';
import type { OpenApiCatalog } from '../openapi/catalog.js';
import { docsHandler } from '../openapi/docs-page.js';
import { openapiHandler } from '../openapi/serve.js';
import type { Handler } from '../pipeline/compose.js';
import type { ComponentHealth, GatewayHealth, GatewayPlugin, Route } from '../types.js';
import type { UpstreamPool } from '../upstream/pool.js';
import { healthHandler } from './health.js';
import { metricsHandler } from './metrics.js';
import { rootHandler } from './root.js';

/** What the gateway lends its built-in routes; each takes what it needs. */
export interface BuiltinDeps {
  name: string;
  version: string;
  registry: Registry;
  metricPrefix: string;
  /** The config in use (asked per request: a reload shows at once). */
  settings(): GatewayConfig;
  /** The routes and pools of the config in use. */
  routes(): readonly Route[];
  pools(): Iterable<UpstreamPool>;
  plugins: readonly GatewayPlugin[];
  /** The services' OpenAPI documents, merged. */
  openapi: OpenApiCatalog;
  /** Reloads that worked and failed, for the dashboard. */
  reloads: ReloadLog;
  /** Each service's state from its pool's cached checks. */
  services(): GatewayHealth['services'];
  /** Plugins' and discovery's own health. */
  components(): Promise<Record<string, ComponentHealth>>;
  /** False while starting or draining. */
  ready(): boolean;
  /** While not ready: what the gateway waits on (`health-checks`, a plugin's name, `draining`). */
  waiting?(): string[];
}

/** Where a built-in is mounted and who may call it. */
export interface BuiltinAccess {
  path: string;
  auth: 'required' | 'public';
  scopes: string[];
}

export interface BuiltinSpec {
  /** Where it is mounted unless `builtins.<name>.path` says otherwise. */
  path: string;
  /** Settings of its own under `builtins.<name>`, beside `path`, `auth` and `scopes` (each with a default). */
  options?: z.ZodRawShape;
  /** Off unless the config turns it on (`true` or an object); others are on unless `false`. */
  optIn?: boolean;
  /** Match the path itself only, not paths below it (the root `/`, the OpenAPI document). */
  exact: boolean;
  /** More paths served by the same handler, derived from the configured one. */
  twins?(path: string): string[];
  /** Who may call it when its config leaves `auth`/`scopes` out, given what the plugins provide. */
  access?(settings: Record<string, unknown>, provides: ReadonlySet<string>): Omit<BuiltinAccess, 'path'>;
  /** Built once per gateway. */
  handler(deps: BuiltinDeps): Handler;
}

/** `/openapi.json` -> `/openapi.yaml`; any other path gets `.yaml` appended. */
function yamlTwin(path: string): string {
  return path.endsWith('.json') ? `${path.slice(0, -'.json'.length)}.yaml` : `${path}.yaml`;
}

const DEFAULT_DOCS = 'https://github.com/lucid-gateway/lucid-gateway#readme';

/** The mount of an enabled built-in in the settings in use, or undefined when it is off. */
function mounted(deps: BuiltinDeps, name: BuiltinName): string | undefined {
  const spec = deps.settings().builtins[name];
  return spec ? spec.path : undefined;
}

/**
 * The gateway's own routes. One entry here is a built-in: its `builtins.<name>` config (path,
 * auth, scopes and its own `options`; `false` turns it off), its route (GET and HEAD, behind the
 * normal route chain) and its handler all follow from it.
 */
export const BUILTIN_NAMES = ['root', 'health', 'metrics', 'openapi', 'docs', 'ui'] as const;
export type BuiltinName = (typeof BUILTIN_NAMES)[number];

// Typed by its names, not inferred: the config schema is built from this table, and the handlers'
// types lead back to the config's.
export const BUILTINS: Readonly<Record<BuiltinName, BuiltinSpec>> = {
  root: {
    path: '/',
    exact: true,
    handler: (d) =>
      rootHandler({
        name: d.name,
        version: d.version,
        docs: () => mounted(d, 'docs') ?? DEFAULT_DOCS,
        prefixes: () => d.routes().flatMap((r) => (r.kind === 'proxy' ? [r.config.prefix] : [])),
      }),
  },
  health: {
    path: '/health',
    exact: false,
    handler: (d) =>
      healthHandler({
        name: d.name,
        version: d.version,
        services: d.services,
        components: d.components,
        ready: d.ready,
        waiting: d.waiting,
      }),
  },
  metrics: { path: '/metrics', exact: false, handler: (d) => metricsHandler(d.registry) },
  /** The services' OpenAPI documents merged into one, as JSON and (its twin) as YAML. */
  openapi: {
    path: '/openapi.json',
    exact: true,
    twins: (path) => [yamlTwin(path)],
    handler: (d) => openapiHandler(d.openapi),
  },
  /** A page that renders the merged document. */
  docs: {
    path: '/docs',
    exact: false,
    handler: (d) =>
      docsHandler(d.openapi, () => {
        const { openapi } = d.settings();
        return { base: mounted(d, 'docs') ?? '/docs', title: openapi.title, publicUrl: openapi.publicUrl };
      }),
  },
  /**
   * The dashboard. `auth` and `scopes` left out mean: where a plugin provides authentication, a token
   * with the `admin` scope; else public.
   */
  ui: {
    path: '/ui',
    exact: false,
    optIn: true,
    options: {
      path: pathPrefix
        .refine((p) => p !== '/', { message: 'the dashboard needs a path of its own, like "/ui"' })
        .default('/ui'),
      auth: authPolicy.optional(),
      scopes: z.array(z.string()).optional(),
      /** How often the page polls its state. */
      refresh: duration
        .refine((ms) => ms >= 250, { message: 'at least "250ms" (the page polls this often)' })
        .default(2_000),
    },
    access: (settings, provides) =>
      dashboardAccess(settings as { auth?: 'required' | 'public'; scopes?: string[] }, provides),
    handler: (d) =>
      dashboardHandler({
        name: d.name,
        version: d.version,
        ready: d.ready,
        routes: d.routes,
        pools: d.pools,
        components: d.components,
        plugins: d.plugins,
        reloads: d.reloads,
        registry: d.registry,
        metricPrefix: d.metricPrefix,
        refreshMs: () => {
          const ui = d.settings().builtins.ui;
          // Its own option: the schema adds it from `options` above, so the type does not know it.
          return ui ? (ui as typeof ui & { refresh: number }).refresh : 2_000;
        },
      }),
  },
};
