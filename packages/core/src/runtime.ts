import type { Logger } from 'pino';
import { allowedHosts } from './builtins/allowed-hosts.js';
import { bodyLimit } from './builtins/body-limit.js';
import { cors } from './builtins/cors.js';
import { websocketOrigin } from './builtins/websocket-origin.js';
import { ConfigError } from './config/errors.js';
import type { GatewayConfig } from './config/schema.js';
import { GatewayError } from './errors.js';
import { grpcWebBridge, grpcWebCors } from './grpc/web.js';
import { compileTrust, type TrustCheck } from './http/client-address.js';
import { identityHeadersOf } from './http/identity-headers.js';
import type { GatewayMetrics } from './observability/metrics.js';
import { authorize, withAuthorization } from './pipeline/authorize.js';
import { compose, type Handler } from './pipeline/compose.js';
import { type GatewayPlugin, PLUGIN_ORDER } from './plugin.js';
import { type BodyBudget, bufferBody, streamedBodyRate } from './proxy/body-buffer.js';
import { forwardTo, upgradeTo } from './proxy/forward.js';
import type { WebSocketTunnel } from './proxy/websocket-tunnel.js';
import { Router } from './routing/router.js';
import { type BuiltinEntry, listenerRoutes, routesOf } from './routing/routes.js';
import type { GatewayContext, Middleware, ProxyEngine, Route, Target, TlsProvider } from './types.js';
import { admission } from './upstream/admission.js';
import { UpstreamPool } from './upstream/pool.js';
import { speaksHttp2 } from './upstream/protocol.js';
import type { ServiceTargets, TargetRegistry } from './upstream/target-registry.js';

export interface RuntimeDeps {
  plugins: readonly GatewayPlugin[];
  logger: Logger;
  metrics: GatewayMetrics;
  /** The engine for HTTP/1.1 services. */
  engine: ProxyEngine;
  /** The engine for HTTP/2 services (made on first use, so a gateway without them opens none). */
  http2Engine(): ProxyEngine;
  tunnel: WebSocketTunnel;
  /** Every built-in config may turn on, with its handler (core's and the plugins'). */
  builtins: ReadonlyMap<string, BuiltinEntry>;
  /** Called when the set of targets changed (discovery), so engines can let go of gone ones. */
  onTargetsChanged(): void;
  /** Told when discovery takes targets out of a pool (for observers such as the dashboard). */
  onTargetsRemoved?(service: string, targets: readonly Target[], at: number): void;
  /** What the plugins provide (`authentication`, ...): built-ins' default access follows from it. */
  provides: ReadonlySet<string>;
  /** Gateway-wide: outlives reloads, as the memory it bounds does. */
  bodyBudget: BodyBudget;
  /** Gateway-wide: what is known of each service's targets, kept across reloads that leave it unchanged. */
  targets: TargetRegistry;
}

/**
 * Everything derived from one config: routes, chains, pools. Built whole, then swapped in one
 * assignment on reload; requests in flight keep the runtime they started with.
 */
export class Runtime {
  readonly router: Router;
  /** The admin listener's routes (`server.admin`); undefined without one. */
  readonly adminRouter: Router | undefined;
  readonly routes: Route[];
  readonly chains = new Map<Route, Handler>();
  readonly upgradeChains = new Map<Route, Handler>();
  readonly pools = new Map<string, UpstreamPool>();
  /** Each service's target states (shared with other runtimes built with the same settings). */
  readonly targetShares = new Map<string, ServiceTargets>();
  readonly trust: TrustCheck | undefined;
  readonly checkHost: ((ctx: GatewayContext) => void) | undefined;
  readonly cors: ((ctx: GatewayContext) => boolean) | undefined;
  readonly limitBody: (ctx: GatewayContext) => void;
  /** Identity headers no client may send: the config's list and the plugins'. */
  readonly identityHeaders: readonly string[];
  inFlight = 0;
  #retired = false;
  #stopped: Promise<void> | undefined;
  readonly #unwatch: Array<() => void> = [];
  readonly #watches: Array<() => () => void> = [];
  #letGoDone = false;
  readonly #onTargetsChanged: () => void;

  constructor(
    readonly config: GatewayConfig,
    deps: RuntimeDeps,
  ) {
    const { plugins, logger, metrics } = deps;
    this.#onTargetsChanged = deps.onTargetsChanged;
    this.trust = compileTrust(config.server.trustProxy);
    this.checkHost = allowedHosts(config.server.allowedHosts);
    // gRPC-Web calls send and read headers of their own: allowed once, for every route, when any route bridges them.
    const bridgesGrpcWeb = config.routes.some((r) => r.grpcWeb);
    this.cors = cors(bridgesGrpcWeb ? grpcWebCors(config.server.cors) : config.server.cors);
    this.limitBody = bodyLimit(config.server.limits.body);
    this.identityHeaders = identityHeadersOf(config, plugins);

    const { limits } = config.server;
    const buffered = bufferBody({
      max: limits.bufferBody,
      budget: deps.bodyBudget,
      minRate: limits.minBodyRate,
    });
    // Decided once: without a minimum rate, streamed bodies get no watch at all.
    const streamedRate = limits.minBodyRate === false ? [] : [streamedBodyRate(limits.minBodyRate)];
    // What runs between the route's chain and the proxy, per service: body buffering (or the rate
    // watch of a streamed body), then (after the plugins that read the body) admission.
    const beforeProxy = new Map<
      string,
      { buffered: Middleware[]; streamed: Middleware[]; admit: Middleware[] }
    >();
    const tlsProviders = new Map<string, TlsProvider | undefined>();
    for (const [name, service] of Object.entries(config.services)) {
      // Asked once per service: proxying, upgrades and health probes all use the plugin's TLS.
      const tls = plugins.map((p) => p.upstreamTls?.(name, service)).find(Boolean);
      tlsProviders.set(name, tls);
      const share = deps.targets.share(name, service);
      this.targetShares.set(name, share);
      const pool = new UpstreamPool(name, service, {
        logger,
        metrics,
        healthDefaults: config.health,
        targets: share,
        tls,
        ...(deps.onTargetsRemoved && { onTargetsRemoved: deps.onTargetsRemoved }),
      });
      this.pools.set(name, pool);
      // One gate per service across runtimes: an old and a new one that overlap share the cap.
      if (service.maxConnections) {
        share.admission ??= admission({
          perTarget: service.maxConnections,
          queueSize: service.queue.size,
          queueTimeout: service.queue.timeout,
          targets: () => share.inRotation(Date.now()),
        });
      }
      const admit = share.admission ? [share.admission] : [];
      beforeProxy.set(name, {
        buffered: limits.bufferBody > 0 ? [buffered] : streamedRate,
        streamed: streamedRate,
        admit,
      });
      if (service.discovery === 'static') continue;
      const provider = plugins.find((p) => p.discovery?.name === service.discovery)?.discovery;
      if (!provider) {
        throw new ConfigError([
          {
            path: `services.${name}.discovery`,
            message: `"${service.discovery}" discovery needs the plugin that provides it`,
          },
        ]);
      }
      const onTargets = (targets: Target[]) => {
        pool.setTargets(targets);
        deps.onTargetsChanged();
      };
      // Watched from start(): a runtime that is built but never goes live starts nothing.
      this.#watches.push(() => provider.watch(name, onTargets, { service }));
    }

    const webBridge = grpcWebBridge();
    this.routes = routesOf(config, deps.builtins, deps.provides, logger);
    const listeners = listenerRoutes(this.routes, config, deps.builtins);
    const ordered = [...plugins].sort((a, b) => (a.order ?? 500) - (b.order ?? 500));
    const afterBody = (p: GatewayPlugin) => (p.order ?? 500) >= PLUGIN_ORDER.afterBody;
    const early = ordered.filter((p) => !afterBody(p));
    const late = ordered.filter(afterBody);
    for (const route of new Set([...listeners.public, ...(listeners.admin ?? [])])) {
      const contribute = (from: readonly GatewayPlugin[]) =>
        from.flatMap((plugin) => {
          const middleware = plugin.middleware?.(route);
          return middleware ? [{ plugin, middleware }] : [];
        });
      // Plugins authenticate, core authorizes: its step follows the last authenticator's middleware.
      const chain = withAuthorization(contribute(early), authorize(route, plugins));
      // What reads the buffered body runs after it (and after authorization, whatever its order).
      const withBody = contribute(late).map((c) => c.middleware);
      if (route.kind === 'builtin') {
        this.chains.set(route, compose([...chain, ...withBody], route.handler));
        continue;
      }
      const pool = this.pools.get(route.serviceName);
      if (pool === undefined) throw new Error(`route "${route.id}": no pool for "${route.serviceName}"`);
      const tlsProvider = tlsProviders.get(route.serviceName);
      const edge = beforeProxy.get(route.serviceName)!;
      const http2 = speaksHttp2(route.service);
      const buffering = route.config.requestBuffering ?? route.service.requestBuffering;
      this.chains.set(
        route,
        compose(
          [
            ...chain,
            ...(route.config.grpcWeb ? [webBridge] : []),
            ...(buffering ? edge.buffered : edge.streamed),
            ...withBody,
            ...edge.admit,
          ],
          forwardTo(route, {
            pool,
            engine: http2 ? deps.http2Engine() : deps.engine,
            metrics,
            tlsProvider,
            replay: { max: limits.bufferBody, budget: deps.bodyBudget },
          }),
        ),
      );
      if (route.config.websocket && http2) {
        // RFC 8441 (WebSocket over HTTP/2) is not spoken to upstreams: refuse the handshake clearly.
        this.upgradeChains.set(route, refuseWebSocket(route.serviceName));
      } else if (route.config.websocket) {
        // The Origin check runs first: a cross-site page must not reach even the plugins' checks.
        const where = `routes[${config.routes.indexOf(route.config)}]`;
        this.upgradeChains.set(
          route,
          compose(
            [websocketOrigin(route.config, config.server.cors, where), ...chain],
            upgradeTo(route, { pool, tunnel: deps.tunnel, metrics, tlsProvider }),
          ),
        );
      }
    }
    this.router = new Router(listeners.public);
    this.adminRouter = listeners.admin && new Router(listeners.admin);
  }

  /** Drops the identity headers a client sent: only a verified identity may set them. */
  stripIdentity(headers: Record<string, unknown>): void {
    const names = this.identityHeaders;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (headers[name] !== undefined) delete headers[name];
    }
  }

  /** The ids of every target of this runtime's pools. */
  liveTargetIds(into = new Set<string>()): Set<string> {
    for (const pool of this.pools.values()) for (const t of pool.targets()) into.add(t.id);
    return into;
  }

  /** Starts watching discovery and the pools' checks; resolves once each pool had its first round. */
  start(): Promise<void> {
    // Synchronously: a discovery plugin starting next to this finds its watches there.
    if (this.#stopped === undefined) for (const watch of this.#watches.splice(0)) this.#unwatch.push(watch());
    return Promise.all([...this.pools.values()].map((pool) => pool.start())).then(() => {});
  }

  /**
   * Replaced by a newer runtime: its background work (discovery watches, checks, timers) stops at
   * once; requests and tunnels that started on it finish on it, and once the last one did, engines
   * may close the connections of targets no runtime uses any more.
   */
  retire(): Promise<void> {
    this.#retired = true;
    const stopped = this.stop();
    if (this.inFlight === 0) this.#letGo();
    return stopped;
  }

  requestDone(): void {
    if (--this.inFlight === 0 && this.#retired) this.#letGo();
  }

  #letGo(): void {
    if (this.#letGoDone) return;
    this.#letGoDone = true;
    this.#onTargetsChanged();
  }

  /** Stops watching discovery and the pools' checks and timers; resolves once every pool has stopped. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      for (const unwatch of this.#unwatch.splice(0)) unwatch();
      await Promise.all([...this.pools.values()].map((p) => p.stop()));
    })();
    return this.#stopped;
  }
}

function refuseWebSocket(service: string): Handler {
  return async function refuseWebSocket() {
    throw new GatewayError('GW_BAD_REQUEST', {
      detail: `service "${service}" is spoken to over HTTP/2, which carries no WebSocket upgrade`,
    });
  };
}
