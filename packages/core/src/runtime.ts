import type { Logger } from 'pino';
import { allowedHosts } from './builtins/allowed-hosts.js';
import { bodyLimit } from './builtins/body-limit.js';
import { cors } from './builtins/cors.js';
import { websocketOrigin } from './builtins/websocket-origin.js';
import { ConfigError } from './config/errors.js';
import type { GatewayConfig, RouteConfig, UiConfig } from './config/schema.js';
import { routeSchema } from './config/schema.js';
import { dashboardAccess } from './dashboard/access.js';
import { compileTrust, type TrustCheck } from './http/client-address.js';
import type { GatewayMetrics } from './observability/metrics.js';
import { compose, type Handler } from './pipeline/compose.js';
import { type BodyBudget, bufferBody } from './proxy/body-buffer.js';
import { forwardTo, upgradeTo } from './proxy/forward.js';
import type { HttpProxyEngine } from './proxy/http-proxy-engine.js';
import { Router } from './routing/router.js';
import type { GatewayContext, GatewayPlugin, Middleware, ProxyEngine, Route, Target } from './types.js';
import { admission } from './upstream/admission.js';
import { UpstreamPool } from './upstream/pool.js';

/** Handlers for the built-in routes, keyed by which built-in. */
export type BuiltinHandlers = Record<'root' | 'health' | 'metrics' | 'openapi' | 'docs' | 'ui', Handler>;

export interface RuntimeDeps {
  plugins: readonly GatewayPlugin[];
  logger: Logger;
  metrics: GatewayMetrics;
  engine: ProxyEngine;
  wsEngine: HttpProxyEngine;
  builtins: BuiltinHandlers;
  /** Gateway-wide: outlives reloads, as the memory it bounds does. */
  bodyBudget: BodyBudget;
}

/**
 * Everything derived from one config: routes, chains, pools. Built whole, then swapped in one
 * assignment on reload; requests in flight keep the runtime they started with.
 */
export class Runtime {
  readonly router: Router;
  readonly routes: Route[];
  readonly chains = new Map<Route, Handler>();
  readonly upgradeChains = new Map<Route, Handler>();
  readonly pools = new Map<string, UpstreamPool>();
  readonly trust: TrustCheck | undefined;
  readonly checkHost: ((ctx: GatewayContext) => void) | undefined;
  readonly cors: ((ctx: GatewayContext) => boolean) | undefined;
  readonly limitBody: (ctx: GatewayContext) => void;
  inFlight = 0;
  #retired = false;
  readonly #unwatch: Array<() => void> = [];

  constructor(
    readonly config: GatewayConfig,
    deps: RuntimeDeps,
  ) {
    const { plugins, logger, metrics } = deps;
    this.trust = compileTrust(config.server.trustProxy);
    this.checkHost = allowedHosts(config.server.allowedHosts);
    this.cors = cors(config.server.cors);
    this.limitBody = bodyLimit(config.server.limits.body);

    const { limits } = config.server;
    const buffered = bufferBody({
      max: limits.bufferBody,
      budget: deps.bodyBudget,
      minRate: limits.minBodyRate,
    });
    // What runs between the route's chain and the proxy, per service: body buffering, then admission.
    const beforeProxy = new Map<string, { buffered: Middleware[]; streamed: Middleware[] }>();
    for (const [name, service] of Object.entries(config.services)) {
      const pool = new UpstreamPool(name, service, { logger, metrics, healthDefaults: config.health });
      this.pools.set(name, pool);
      const admit = service.maxConnections
        ? [
            admission({
              perTarget: service.maxConnections,
              queueSize: service.queue.size,
              queueTimeout: service.queue.timeout,
              targets: () => pool.targets().length,
            }),
          ]
        : [];
      beforeProxy.set(name, {
        buffered: limits.bufferBody > 0 ? [buffered, ...admit] : admit,
        streamed: admit,
      });
      if (service.discovery !== 'static') {
        const provider = plugins.find((p) => p.discovery?.name === service.discovery)?.discovery;
        if (!provider) {
          throw new ConfigError([
            {
              path: `services.${name}.discovery`,
              message: `"${service.discovery}" discovery needs its plugin (configure mesh.${service.discovery})`,
            },
          ]);
        }
        const onTargets = (targets: Target[]) => {
          pool.setTargets(targets);
          deps.engine.retain?.(this.#liveTargetIds());
        };
        this.#unwatch.push(provider.watch(name, onTargets, { service }));
      }
    }

    const authenticates = plugins.some((p) => p.authenticates === true);
    this.routes = [
      ...config.routes.map((r) => proxyRoute(r, config)),
      ...builtinRoutes(config, logger, authenticates),
    ];
    const ordered = [...plugins].sort((a, b) => (a.order ?? 500) - (b.order ?? 500));
    for (const route of this.routes) {
      const chain = ordered.flatMap((p) => p.middleware?.(route) ?? []);
      if (route.kind === 'builtin') {
        this.chains.set(
          route,
          compose(chain, deps.builtins[route.id.slice('builtin:'.length) as keyof BuiltinHandlers]),
        );
        continue;
      }
      const pool = this.pools.get(route.serviceName!)!;
      const tlsProvider = plugins
        .map((p) => p.upstreamTls?.(route.serviceName!, route.service!))
        .find(Boolean);
      const edge = beforeProxy.get(route.serviceName!)!;
      const buffering = route.config.requestBuffering ?? route.service!.requestBuffering;
      this.chains.set(
        route,
        compose(
          [...chain, ...(buffering ? edge.buffered : edge.streamed)],
          forwardTo(route, { pool, engine: deps.engine, metrics, tlsProvider }),
        ),
      );
      if (route.config.websocket) {
        this.upgradeChains.set(
          route,
          compose(
            [
              websocketOrigin(
                route.config,
                config.server.cors,
                `routes[${config.routes.indexOf(route.config)}]`,
              ),
              ...chain,
            ],
            upgradeTo(route, { pool, engine: deps.wsEngine, metrics, tlsProvider }),
          ),
        );
      }
    }
    this.router = new Router(this.routes);
  }

  #liveTargetIds(): Set<string> {
    const ids = new Set<string>();
    for (const pool of this.pools.values()) for (const t of pool.targets()) ids.add(t.id);
    return ids;
  }

  /** Starts the pools' checks; resolves once each has had its first round. */
  async start(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.start()));
  }

  /** Stops background work once the last request that started on this runtime has finished. */
  retire(): void {
    this.#retired = true;
    if (this.inFlight === 0) this.stop();
  }

  requestDone(): void {
    if (--this.inFlight === 0 && this.#retired) this.stop();
  }

  stop(): void {
    for (const unwatch of this.#unwatch.splice(0)) unwatch();
    for (const pool of this.pools.values()) pool.stop();
  }
}

function proxyRoute(config: RouteConfig, gateway: GatewayConfig): Route {
  return {
    id: config.name ?? (config.host ? `${config.host}${config.prefix}` : config.prefix),
    kind: 'proxy',
    exact: false,
    config,
    service: gateway.services[config.service],
    serviceName: config.service,
  };
}

/**
 * Built-in routes (`/`, `/health`, `/metrics`, `/openapi.json` with its `.yaml` twin, `/docs`, `/ui`),
 * skipped where a configured route claims the same path.
 */
function builtinRoutes(config: GatewayConfig, logger: Logger, authenticates: boolean): Route[] {
  const taken = new Set(config.routes.filter((r) => !r.host).map((r) => r.prefix));
  const out: Route[] = [];
  type Spec = {
    key: keyof BuiltinHandlers;
    spec: { path: string; auth?: 'required' | 'public'; scopes?: string[] };
  };
  const specs = Object.entries(config.builtins).flatMap(([name, spec]): Spec[] => {
    const key = name as keyof BuiltinHandlers;
    if (spec === false) return [];
    if (key !== 'openapi') return [{ key, spec }];
    // The OpenAPI document is served as JSON and, beside it, as YAML.
    return [
      { key, spec },
      { key, spec: { ...spec, path: yamlTwin(spec.path) } },
    ];
  });
  for (const { key, spec } of specs) {
    const { auth, scopes } = 'refresh' in spec ? dashboardAccess(spec as UiConfig, authenticates) : spec;
    if (taken.has(spec.path)) {
      logger.warn(
        { builtin: key, path: spec.path },
        'a configured route uses the built-in path; the route wins',
      );
      continue;
    }
    out.push({
      id: `builtin:${key}`,
      kind: 'builtin',
      exact: key === 'root' || key === 'openapi',
      config: routeSchema.parse({
        prefix: spec.path,
        service: `builtin:${key}`,
        auth,
        scopes,
        methods: ['GET', 'HEAD'],
        websocket: false,
        rateLimit: false,
      }),
      service: undefined,
      serviceName: undefined,
    });
  }
  return out;
}

/** `/openapi.json` -> `/openapi.yaml`; any other path gets `.yaml` appended. */
function yamlTwin(path: string): string {
  return path.endsWith('.json') ? `${path.slice(0, -'.json'.length)}.yaml` : `${path}.yaml`;
}
