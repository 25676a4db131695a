import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { coreBuiltinHandlers, corePublicHandlers } from './builtins/handlers.js';
import { overallStatus } from './builtins/health.js';
import { type ComposedSchema, composeConfigSchema, type PluginSchema } from './config/plugin-schema.js';
import type { GatewayConfig, GatewayConfigInput } from './config/schema.js';
import { parseConfig } from './config/validate.js';
import { GatewayError } from './errors.js';
import { Observers } from './gateway-view.js';
import { componentHealth, serviceHealth } from './health/aggregate.js';
import { guardConnections } from './http/connection-guard.js';
import { PluginPhases } from './lifecycle/phases.js';
import { RequestLifecycle } from './lifecycle/requests.js';
import { type AccessLog, accessLog } from './observability/access-log.js';
import { createLogger, releaseLogger } from './observability/logger.js';
import { createMetrics, type GatewayMetrics } from './observability/metrics.js';
import { type Counter, counterOn } from './observability/series.js';
import type { Handler } from './pipeline/compose.js';
import type { GatewayPlugin, GatewayView } from './plugin.js';
import { BodyBudget } from './proxy/body-buffer.js';
import { HttpProxyEngine } from './proxy/http-proxy-engine.js';
import { Http2Engine } from './proxy/http2-engine.js';
import { UndiciEngine } from './proxy/undici-engine.js';
import { WebSocketTunnel } from './proxy/websocket-tunnel.js';
import type { BuiltinEntry } from './routing/routes.js';
import { Runtime } from './runtime.js';
import { openAcmePlainPort } from './server/acme-ports.js';
import {
  createGatewayServer,
  drain,
  type GatewayServer,
  installCertificate,
  listenOn,
  readServerTls,
} from './server/http-server.js';
import { checkedCertificate } from './server/tls-reload.js';
import type {
  CloseOptions,
  ComponentHealth,
  Gateway,
  GatewayHealth,
  ProxyEngine,
  RouteSummary,
  TlsOptions,
} from './types.js';
import { TargetRegistry } from './upstream/target-registry.js';
import { staticTls } from './upstream/tls.js';
import { VERSION } from './version.js';

export const METRIC_PREFIX = 'lucid_gateway_';

export interface CreateGatewayOptions {
  plugins?: GatewayPlugin[];
  /** A pino logger; by default one is made from `config.logging`. */
  logger?: Logger;
  /** A prom-client registry to share with the host app; by default the gateway has its own. */
  registry?: Registry;
  /** Replace the engine for plain HTTP (WebSockets have their own tunnel). */
  engine?: ProxyEngine;
  /** Replace the engine for HTTP/2 services (h2c:// targets, `http2: true`); by default an `Http2Engine`. */
  http2Engine?: ProxyEngine;
}

/**
 * Builds a gateway from a config, validated here against core's schema and the plugins' (throws a
 * `ConfigError` naming every problem at once). Fails closed: a route that needs auth with no plugin
 * that `provides: ['authentication']` is refused.
 *
 * @example
 * const gateway = createGateway(config, { plugins: [myAuthentication] });
 * http.createServer(gateway.handler).listen(8080); // or: await gateway.listen()
 */
export function createGateway(config: GatewayConfigInput, options: CreateGatewayOptions = {}): Gateway {
  return new LucidGateway(config, options);
}

/** The schema parts a plugin brings, its discovery kind included. */
function schemaOf(plugin: GatewayPlugin): PluginSchema | undefined {
  const kind = plugin.discovery?.name;
  if (!kind || plugin.schema?.discovery?.includes(kind)) return plugin.schema;
  return { name: plugin.name, ...plugin.schema, discovery: [...(plugin.schema?.discovery ?? []), kind] };
}

class LucidGateway implements Gateway {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly #accessLog: AccessLog;
  readonly #metrics: GatewayMetrics;
  readonly #plugins: GatewayPlugin[];
  readonly #phases: PluginPhases;
  readonly #schema: ComposedSchema;
  readonly #provides: Set<string>;
  readonly #engine: ProxyEngine;
  /** Made when a service first needs it; outlives reloads like the HTTP/1.1 engine. */
  #http2: ProxyEngine | undefined;
  readonly #makeHttp2: () => ProxyEngine;
  readonly #tunnel = new WebSocketTunnel();
  /** Client sockets on the upgrade path (handshaking or joined), cut when the gateway closes. */
  readonly #upgraded = new Set<Duplex>();
  readonly #builtins: ReadonlyMap<string, BuiltinEntry>;
  /** Packages built over the gateway's view (the API reference, the dashboard) follow its events here. */
  readonly #observers: Observers;
  readonly #bodyBudget: BodyBudget;
  /** What is known of each service's targets, kept across reloads that leave the service unchanged. */
  readonly #targets = new TargetRegistry();
  readonly #reloadCount: Counter;
  #runtime: Runtime;
  #server: GatewayServer | undefined;
  /** The admin listener (`server.admin`), when `listen()` opened one. */
  #admin: GatewayServer | undefined;
  /** The plain port beside an ACME-fed HTTPS port (challenges, /health/live, redirects). */
  #plain: Server | undefined;
  #started = false;
  readonly #ownLogger: boolean;
  /** True while the first round of health checks is pending in start(). */
  #checking = false;
  #draining = false;
  #closed: Promise<void> | undefined;

  constructor(input: GatewayConfigInput, options: CreateGatewayOptions) {
    this.#plugins = options.plugins ?? [];
    this.#phases = new PluginPhases(this.#plugins, (err, fields, msg) =>
      this.#warnWithoutStack(err, fields, msg),
    );
    this.#schema = composeConfigSchema(this.#plugins.flatMap((p) => schemaOf(p) ?? []));
    // A plugin with discovery provides its kind (`discovery:<kind>`), so checks can tell it is there.
    this.#provides = new Set(
      this.#plugins.flatMap((p) => [
        ...(p.provides ?? []),
        ...(p.discovery ? [`discovery:${p.discovery.name}`] : []),
      ]),
    );
    const config = this.#parse(input);
    this.logger = options.logger ?? createLogger(config.logging);
    this.#ownLogger = options.logger === undefined;
    this.#accessLog = accessLog(this.logger);
    this.registry = options.registry ?? new Registry();
    this.#metrics = createMetrics(this.registry, METRIC_PREFIX);
    this.#reloadCount = counterOn(
      this.registry,
      `${METRIC_PREFIX}config_reloads_total`,
      'Config reloads, by result: success (the new config serves) or failure (the previous one keeps serving).',
      ['result'],
    );
    this.#engine =
      options.engine ?? (config.server.engine === 'http-proxy' ? new HttpProxyEngine() : new UndiciEngine());
    this.#makeHttp2 = () => options.http2Engine ?? new Http2Engine();
    for (const plugin of this.#plugins) {
      plugin.setup?.({ config, logger: this.logger, registry: this.registry, metricPrefix: METRIC_PREFIX });
    }
    this.#observers = new Observers((err, event) =>
      this.#warnWithoutStack(err, { event }, 'a gateway observer failed'),
    );
    this.#bodyBudget = new BodyBudget(config.server.limits.bufferTotal);
    this.#builtins = this.#builtinEntries(this.#view(config.name));
    this.#runtime = this.#build(config);
    this.#targets.commit(this.#runtime.targetShares);
    const requests = new RequestLifecycle({
      runtime: () => this.#runtime,
      logger: this.logger,
      metrics: this.#metrics,
      accessLog: this.#accessLog,
      draining: () => this.#draining,
      closeIdle: () => this.#server?.server.closeIdleConnections(),
      upgraded: this.#upgraded,
      tracer: this.#plugins.find((p) => p.tracer !== undefined)?.tracer,
    });
    this.handler = requests.handler;
    this.upgrade = requests.upgrade;
    // Operators' requests (scrapes, the dashboard) are logged and counted, never traced.
    this.adminHandler = new RequestLifecycle({
      runtime: () => this.#runtime,
      logger: this.logger,
      metrics: this.#metrics,
      accessLog: this.#accessLog,
      draining: () => this.#draining,
      closeIdle: () => this.#admin?.server.closeIdleConnections(),
      upgraded: this.#upgraded,
      tracer: undefined,
      admin: true,
    }).handler;
  }

  get config(): GatewayConfig {
    return this.#runtime.config;
  }

  get ready(): boolean {
    return this.#started && !this.#draining;
  }

  /** What readiness waits on, for /health/ready's 503. */
  #waiting(): string[] {
    if (this.#draining) return ['draining'];
    if (this.#started) return [];
    const plugins = this.#phases.starting();
    if (this.#checking) return ['health-checks', ...plugins];
    // Embedded and not started yet: start() (or listen()) is what it waits for.
    return plugins.length > 0 ? plugins : ['start'];
  }

  /** Use as `http.createServer(gateway.handler)`: the per-request entry point. */
  readonly handler: Gateway['handler'];
  /** Use as `server.on('upgrade', gateway.upgrade)`. */
  readonly upgrade: Gateway['upgrade'];
  /** The admin listener's entry point: `http.createServer(gateway.adminHandler)` on a private address. */
  readonly adminHandler: Gateway['adminHandler'];

  #parse(input: GatewayConfigInput): GatewayConfig {
    return parseConfig(input, { schema: this.#schema, provides: this.#provides });
  }

  #build(config: GatewayConfig): Runtime {
    return new Runtime(config, {
      plugins: this.#plugins,
      logger: this.logger,
      metrics: this.#metrics,
      engine: this.#engine,
      http2Engine: () => (this.#http2 ??= this.#makeHttp2()),
      tunnel: this.#tunnel,
      builtins: this.#builtins,
      onTargetsChanged: () => this.#retainLiveTargets(),
      onTargetsRemoved: (service, targets, at) =>
        this.#observers.emit('targetsRemoved', service, targets, at),
      provides: this.#provides,
      bodyBudget: this.#bodyBudget,
      targets: this.#targets,
    });
  }

  /** Engines close the connections of targets that no runtime still uses. */
  #retainLiveTargets(): void {
    // Called while the first runtime is being built: nothing to let go of yet.
    if (this.#runtime === undefined) return;
    const live = this.#runtime.liveTargetIds();
    this.#engine.retain?.(live);
    this.#http2?.retain?.(live);
  }

  /** Starts plugins and background checks without a server of our own (for embedding). */
  async start(): Promise<void> {
    if (this.#started) return;
    // Ready only after the first check round and every plugin's start: /health never starts out guessing.
    this.#checking = true;
    try {
      await Promise.all([
        this.#runtime.start().finally(() => (this.#checking = false)),
        this.#phases.start(this),
      ]);
    } finally {
      this.#checking = false;
    }
    this.#started = true;
    this.#observers.emit('configured', this.#runtime.config);
  }

  async listen(opts: { port?: number; host?: string } = {}): Promise<{ port: number; host: string }> {
    const { server: cfg } = this.#runtime.config;
    const certificates = this.#plugins.find((p) => p.certificates)?.certificates;
    const listening = createGatewayServer(cfg, this, certificates);
    this.guard(listening.server);
    this.#server = listening;
    const bound = await listenOn(listening.server, opts.port ?? cfg.port, opts.host ?? cfg.host);
    try {
      if (cfg.admin) await this.#listenAdmin(cfg, cfg.admin);
      if (cfg.tls?.acme && certificates) {
        const { headers } = cfg.limits;
        this.#plain = await openAcmePlainPort({
          https: listening.server,
          tls: cfg.tls,
          acme: cfg.tls.acme,
          source: certificates,
          host: opts.host ?? cfg.host,
          limits: { headers, headersTimeout: cfg.timeouts.headers },
          guard: (s) => this.guard(s),
        });
      }
      await this.start();
    } catch (err) {
      // Nothing stays behind a start that failed: no listener, no plugin half started.
      await this.close({ graceMs: 0 });
      throw err;
    }
    this.logger.info(
      { port: bound.port, host: bound.host, routes: this.#runtime.routes.length },
      'gateway listening',
    );
    return bound;
  }

  /** The admin listener: plain HTTP/1.1 with the public port's limits and timeouts, no upgrades. */
  async #listenAdmin(cfg: GatewayConfig['server'], admin: { port: number; host: string }): Promise<void> {
    const listening = createGatewayServer(
      { ...cfg, tls: undefined, http2: { ...cfg.http2, enabled: false } },
      { handler: this.adminHandler, upgrade: (_req, socket) => socket.destroy() },
    );
    this.guard(listening.server);
    this.#admin = listening;
    const bound = await listenOn(listening.server, admin.port, admin.host);
    this.logger.info({ port: bound.port, host: bound.host }, 'admin listener');
  }

  /** Where the admin listener bound (`server.admin`), or undefined without one. */
  adminAddress(): { port: number; host: string } | undefined {
    const addr = this.#admin?.server.address();
    return addr && typeof addr === 'object' ? { port: addr.port, host: addr.address } : undefined;
  }

  /** Closes connections that send no head in time and caps open ones, on any server (see SECURITY.md). */
  guard(server: Server): void {
    const { limits, timeouts } = this.#runtime.config.server;
    guardConnections(server, {
      headersTimeout: timeouts.headers,
      maxConnections: limits.connections,
      registry: this.registry,
      metricPrefix: METRIC_PREFIX,
    });
  }

  address(): { port: number; host: string } | undefined {
    const addr = this.#server?.server.address();
    return addr && typeof addr === 'object' ? { port: addr.port, host: addr.address } : undefined;
  }

  close(opts: CloseOptions = {}): Promise<void> {
    this.#closed ??= this.#close(opts.graceMs ?? this.#runtime.config.server.timeouts.shutdown);
    return this.#closed;
  }

  async #close(graceMs: number): Promise<void> {
    this.#draining = true;
    // Leave service discovery first, so no new traffic is sent here while we drain.
    await this.#phases.leave();
    if (this.#plain) {
      this.#plain.close();
      this.#plain.closeAllConnections();
    }
    // Stop accepting; in-flight requests finish with every plugin still there (keys, stores).
    await Promise.all([
      this.#server && drain(this.#server, graceMs, this.#upgraded),
      this.#admin && drain(this.#admin, graceMs, []),
    ]);
    this.#tunnel.close();
    await this.#runtime.stop();
    this.#observers.emit('closed');
    // Only now: nothing is left that could need a plugin's store, key set or client.
    await this.#phases.close();
    await Promise.all([this.#engine.close(), this.#http2?.close()]);
    // The logger it made ends its flush timer; one handed in belongs to the host.
    if (this.#ownLogger) releaseLogger(this.logger);
    else this.logger.flush?.();
  }

  async reload(input: GatewayConfigInput): Promise<void> {
    let config: GatewayConfig;
    let next: Runtime | undefined;
    const previous = this.#runtime;
    try {
      config = this.#parse(input);
      const { tls: nextTls, ...nextServer } = config.server;
      const { tls: previousTls, ...previousServer } = previous.config.server;
      // Certificates are read again on every reload (rotation keeps the paths): read and checked
      // before anything is built, used once the new config serves; open connections keep theirs.
      const certificate =
        this.#server && previousTls && nextTls && !nextTls.acme
          ? checkedCertificate(nextTls, readServerTls(nextTls))
          : undefined;
      next = this.#build(config);
      if (
        JSON.stringify(previousServer) !== JSON.stringify(nextServer) ||
        (previousTls === undefined) !== (nextTls === undefined)
      ) {
        this.logger.warn(
          'server settings (port, limits, timeouts, TLS on or off) apply on restart, not on reload',
        );
      }
      if (this.#started) await next.start();
      if (certificate && nextTls && this.#server)
        installCertificate(this.#server.server, nextTls, certificate);
    } catch (err) {
      // Nothing the attempt started stays behind (watches, checks, holds on target state); the
      // previous config keeps serving.
      await next?.stop();
      this.reloadFailed(err);
      throw err;
    }
    this.#runtime = next;
    this.#targets.commit(next.targetShares);
    this.#reloadCount.labels('success').inc();
    if (this.#started) this.#observers.emit('configured', config);
    this.logger.info({ routes: next.routes.length }, 'config reloaded');
    // Its background work (checks, discovery, timers) stops now; once its last request or tunnel
    // finished, engines close the connection pools of targets that are gone.
    await previous.retire();
  }

  reloadFailed(reason: unknown): void {
    this.#reloadCount.labels('failure').inc();
    this.#observers.emit('reloadFailed', reason);
  }

  routes(): RouteSummary[] {
    return this.#runtime.routes.map((r) => ({
      id: r.id,
      kind: r.kind,
      prefix: r.config.prefix,
      host: r.config.host,
      methods: r.config.methods ?? ['*'],
      service: r.kind === 'proxy' ? r.serviceName : undefined,
      builtin: r.kind === 'builtin' ? r.builtin : undefined,
      stripPrefix: r.config.stripPrefix,
      auth: r.config.auth,
      scopes: r.config.scopes,
    }));
  }

  async health(): Promise<GatewayHealth> {
    const services = serviceHealth(this.#runtime);
    const components = await this.#componentHealth();
    const status = overallStatus(services, components);
    return { status, service: this.config.name, version: VERSION, services, components };
  }

  /** The plugins' health (and their discovery's). */
  #componentHealth(): Promise<Record<string, ComponentHealth>> {
    return componentHealth(this.#plugins, (err, fields, msg) => this.#warnWithoutStack(err, fields, msg));
  }

  /** What packages built over the gateway read: the config, routes and pools in force, and its events. */
  #view(name: string): GatewayView {
    const mounted = (builtin: string) => {
      const settings = this.#runtime.config.builtins[builtin];
      return settings ? settings.path : undefined;
    };
    return {
      name,
      version: VERSION,
      logger: this.logger,
      registry: this.registry,
      metricPrefix: METRIC_PREFIX,
      plugins: this.#plugins,
      provides: this.#provides,
      config: () => this.#runtime.config,
      routes: () => this.#runtime.routes,
      router: () => this.#runtime.router,
      pools: () => this.#runtime.pools,
      tls: (service) => this.#serviceTls(service),
      services: () => serviceHealth(this.#runtime),
      components: () => this.#componentHealth(),
      ready: () => this.ready,
      waiting: () => this.#waiting(),
      mounted,
      reference: () => {
        for (const [builtin, entry] of this.#builtins) {
          const path = entry.spec.reference ? mounted(builtin) : undefined;
          if (path !== undefined) return path;
        }
        return undefined;
      },
      observe: (observer) => this.#observers.add(observer),
    };
  }

  /** Core's built-ins and the plugins', each with its handler, in the composed schema's order. */
  #builtinEntries(view: GatewayView): Map<string, BuiltinEntry> {
    const handlers = new Map<string, Handler>(Object.entries(coreBuiltinHandlers(view)));
    for (const plugin of this.#plugins) {
      for (const [name, handler] of Object.entries(plugin.builtins?.(view) ?? {})) {
        // Only for a built-in its own schema declares: never core's, nor another plugin's.
        if (!Object.hasOwn(plugin.schema?.builtins ?? {}, name)) {
          throw new Error(
            `plugin "${plugin.name}": a handler for "${name}", which its schema does not declare as a built-in`,
          );
        }
        handlers.set(name, handler);
      }
    }
    const publicHandlers: Partial<Record<string, Handler>> = corePublicHandlers(view);
    const entries = new Map<string, BuiltinEntry>();
    for (const [name, spec] of this.#schema.builtins) {
      entries.set(name, {
        spec,
        handler: handlers.get(name) ?? unanswered(name),
        publicHandler: publicHandlers[name],
      });
    }
    return entries;
  }

  /** A service's TLS as its traffic has it: a plugin's (e.g. a service mesh's), else the service's files. */
  #serviceTls(service: string): TlsOptions | undefined {
    const cfg = this.#runtime.config.services[service];
    if (!cfg) return undefined;
    for (const plugin of this.#plugins) {
      const current = plugin.upstreamTls?.(service, cfg)?.current();
      if (current) return current;
    }
    return staticTls(cfg.tls);
  }

  /** Operators read the reason in one line; the error with its stack is there at debug level. */
  #warnWithoutStack(err: unknown, fields: Record<string, unknown>, msg: string): void {
    this.logger.debug({ ...fields, err }, msg);
    const reason = String((err as Error)?.message ?? err).split('\n')[0];
    this.logger.warn({ ...fields, reason }, msg);
  }
}

/** A built-in a schema declares but no plugin answers (a declaring stand-in): it is not there. */
function unanswered(name: string): Handler {
  return async function unanswered(ctx) {
    throw new GatewayError('GW_ROUTE_NOT_FOUND', {
      detail: `no handler for the built-in "${name}" (${ctx.path})`,
    });
  };
}
