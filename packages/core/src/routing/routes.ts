import type { Logger } from 'pino';
import type { BuiltinSpec } from '../builtins/spec.js';
import type { GatewayConfig, RouteConfig } from '../config/schema.js';
import { routeSchema } from '../config/schema.js';
import type { Handler } from '../pipeline/compose.js';
import type { BuiltinRoute, ProxyRoute, Route } from '../types.js';

/**
 * The routes one config runs: its proxy routes, then the built-ins it keeps (a configured route
 * without a host on a built-in's path takes the path over).
 */
export function routesOf(
  config: GatewayConfig,
  builtins: ReadonlyMap<string, BuiltinEntry>,
  provides: ReadonlySet<string>,
  logger: Logger,
): Route[] {
  return [
    ...config.routes.map((r) => proxyRoute(r, config)),
    ...builtinRoutes(config, builtins, provides, logger),
  ];
}

function proxyRoute(config: RouteConfig, gateway: GatewayConfig): ProxyRoute {
  const service = gateway.services[config.service];
  // validateConfig refuses such a config; this guards a caller that skipped it.
  if (service === undefined || !Object.hasOwn(gateway.services, config.service)) {
    throw new Error(`route "${config.prefix}": unknown service "${config.service}"`);
  }
  return {
    id: config.name ?? (config.host ? `${config.host}${config.prefix}` : config.prefix),
    kind: 'proxy',
    exact: false,
    config,
    service,
    serviceName: config.service,
  };
}

/** A built-in as the gateway mounts it: how config sees it, and what answers it. */
export interface BuiltinEntry {
  spec: BuiltinSpec;
  handler: Handler;
  /** What the public port answers with an admin listener configured (a summary), when not `handler`. */
  publicHandler?: Handler | undefined;
}

/**
 * The routes of each listener. Without `server.admin` the one port serves them all. With it, the
 * admin listener serves the built-ins, and the public port the proxy routes and the built-ins that
 * are not for operators only (with their public answer, such as the summary /health).
 */
export function listenerRoutes(
  routes: readonly Route[],
  config: GatewayConfig,
  builtins: ReadonlyMap<string, BuiltinEntry>,
): { public: Route[]; admin: Route[] | undefined } {
  if (config.server.admin === undefined) return { public: [...routes], admin: undefined };
  const publicRoutes: Route[] = [];
  const admin: Route[] = [];
  for (const route of routes) {
    if (route.kind !== 'builtin') {
      publicRoutes.push(route);
      continue;
    }
    admin.push(route);
    const entry = builtins.get(route.builtin);
    if (entry?.spec.admin) continue;
    publicRoutes.push(entry?.publicHandler ? { ...route, handler: entry.publicHandler } : route);
  }
  return { public: publicRoutes, admin };
}

function builtinRoutes(
  config: GatewayConfig,
  builtins: ReadonlyMap<string, BuiltinEntry>,
  provides: ReadonlySet<string>,
  logger: Logger,
): BuiltinRoute[] {
  const taken = new Set(config.routes.filter((r) => !r.host).map((r) => r.prefix));
  const out: BuiltinRoute[] = [];
  for (const [name, entry] of builtins) {
    const spec = config.builtins[name];
    if (spec === false || spec === undefined) continue;
    const builtin = entry.spec;
    const { auth, scopes } = builtin.access?.(spec, provides) ?? {
      auth: spec.auth ?? 'public',
      scopes: spec.scopes ?? [],
    };
    for (const path of [spec.path, ...(builtin.twins?.(spec.path) ?? [])]) {
      if (taken.has(path)) {
        logger.warn({ builtin: name, path }, 'a configured route uses the built-in path; the route wins');
        continue;
      }
      out.push({
        id: `builtin:${name}`,
        kind: 'builtin',
        builtin: name,
        handler: entry.handler,
        exact: builtin.exact,
        // Plugins read a route's settings (auth, scopes, their own options) the same way for both kinds.
        config: routeSchema.parse({
          prefix: path,
          service: name,
          auth,
          scopes,
          methods: builtin.methods ?? ['GET', 'HEAD'],
          websocket: false,
        }),
      });
    }
  }
  return out;
}
