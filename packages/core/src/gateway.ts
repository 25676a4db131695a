import { createServer, type IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { healthHandler, overallStatus } from './builtins/health.js';
import { metricsHandler } from './builtins/metrics.js';
import { rootHandler } from './builtins/root.js';
import { parseConfig } from './config/index.js';
import { type GatewayConfig, HTTP_METHODS } from './config/schema.js';
import { RequestContext } from './context.js';
import { dashboardHandler } from './dashboard/handler.js';
import { ReloadLog } from './dashboard/reload-log.js';
import { GatewayError, isGatewayError, sendProblem } from './errors.js';
import { clientAddress, hasDuplicateHost } from './http/client-address.js';
import { guardConnections, headArrived } from './http/connection-guard.js';
import { closeAfterRepairedFraming } from './http/framing.js';
import { normalizePath } from './http/normalize-path.js';
import { requestIdOf, traceparentOf } from './http/request-id.js';
import { type AccessLog, accessLog } from './observability/access-log.js';
import { createLogger } from './observability/logger.js';
import { createMetrics, type GatewayMetrics } from './observability/metrics.js';
import { OpenApiCatalog } from './openapi/catalog.js';
import { docsHandler } from './openapi/docs-page.js';
import { openapiHandler } from './openapi/serve.js';
import { catalogSources } from './openapi/sources.js';
import { BodyBudget } from './proxy/body-buffer.js';
import type { UpgradeContext as ForwardUpgradeContext } from './proxy/forward.js';
import { HttpProxyEngine } from './proxy/http-proxy-engine.js';
import { UndiciEngine } from './proxy/undici-engine.js';
import { closeSoon } from './proxy/websocket-tunnel.js';
import { type BuiltinHandlers, Runtime } from './runtime.js';
import type {
  CloseOptions,
  ComponentHealth,
  Gateway,
  GatewayHealth,
  GatewayPlugin,
  ProxyEngine,
  RouteSummary,
} from './types.js';
import type { ServiceStatus } from './upstream/pool.js';
import { VERSION } from './version.js';

export const METRIC_PREFIX = 'lucid_gateway_';

export interface CreateGatewayOptions {
  plugins?: GatewayPlugin[];
  /** A pino logger; by default one is made from `config.logging`. */
  logger?: Logger;
  /** A prom-client registry to share with the host app; by default the gateway has its own. */
  registry?: Registry;
  /** Replace the engine for plain HTTP (WebSockets always go through http-proxy-3). */
  engine?: ProxyEngine;
}

type UpgradeContext = RequestContext & ForwardUpgradeContext;

/**
 * Builds a gateway from a config (validated here; throws a `ConfigError` naming each problem).
 *
 * @example
 * const gateway = createGateway(config, { plugins: [jwtAuth(config.auth)] });
 * http.createServer(gateway.handler).listen(8080); // or: await gateway.listen()
 */
export function createGateway(config: unknown, options: CreateGatewayOptions = {}): Gateway {
  return new LucidGateway(parseConfig(config), options);
}

class LucidGateway implements Gateway {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly #accessLog: AccessLog;
  readonly #metrics: GatewayMetrics;
  readonly #plugins: GatewayPlugin[];
  readonly #engine: ProxyEngine;
  readonly #wsEngine = new HttpProxyEngine();
  /** Client sockets on the upgrade path (handshaking or joined), cut when the gateway closes. */
  readonly #upgraded = new Set<Duplex>();
  readonly #builtins: BuiltinHandlers;
  readonly #reloads: ReloadLog;
  /** The services' OpenAPI documents, merged, behind /openapi.json and /docs. */
  readonly #openapi: OpenApiCatalog;
  readonly #bodyBudget: BodyBudget;
  #runtime: Runtime;
  #server: Server | undefined;
  #started = false;
  #draining = false;
  #closed: Promise<void> | undefined;

  constructor(config: GatewayConfig, options: CreateGatewayOptions) {
    this.logger = options.logger ?? createLogger(config.logging);
    this.#accessLog = accessLog(this.logger);
    this.registry = options.registry ?? new Registry();
    this.#metrics = createMetrics(this.registry, METRIC_PREFIX);
    this.#plugins = options.plugins ?? [];
    this.#engine =
      options.engine ?? (config.server.engine === 'http-proxy' ? this.#wsEngine : new UndiciEngine());
    for (const plugin of this.#plugins) {
      plugin.setup?.({ config, logger: this.logger, registry: this.registry, metricPrefix: METRIC_PREFIX });
    }
    this.#reloads = new ReloadLog(config);
    this.#openapi = new OpenApiCatalog(this.logger);
    this.#builtins = {
      root: rootHandler({
        name: config.name,
        version: VERSION,
        docs: () => {
          const docs = this.#runtime.config.builtins.docs;
          return docs ? docs.path : 'https://github.com/lucid-gateway/lucid-gateway#readme';
        },
        prefixes: () => this.#runtime.routes.filter((r) => r.kind === 'proxy').map((r) => r.config.prefix),
      }),
      health: healthHandler({
        name: config.name,
        version: VERSION,
        services: () => this.#serviceHealth(),
        components: () => this.#componentHealth(),
        ready: () => this.ready,
      }),
      metrics: metricsHandler(this.registry),
      openapi: openapiHandler(this.#openapi),
      docs: docsHandler(this.#openapi, () => {
        const { builtins, openapi } = this.#runtime.config;
        return {
          base: builtins.docs ? builtins.docs.path : '/docs',
          title: openapi.title,
          publicUrl: openapi.publicUrl,
        };
      }),
      ui: dashboardHandler({
        name: config.name,
        version: VERSION,
        ready: () => this.ready,
        routes: () => this.#runtime.routes,
        pools: () => this.#runtime.pools.values(),
        components: () => this.#componentHealth(),
        plugins: this.#plugins,
        reloads: this.#reloads,
        registry: this.registry,
        metricPrefix: METRIC_PREFIX,
        refreshMs: () => (this.config.builtins.ui || { refresh: 2_000 }).refresh,
      }),
    };
    this.#bodyBudget = new BodyBudget(config.server.limits.bufferTotal);
    this.#runtime = this.#build(config);
  }

  get config(): GatewayConfig {
    return this.#runtime.config;
  }

  get ready(): boolean {
    return this.#started && !this.#draining;
  }

  /** The per-request entry point; everything on this path is precompiled in the runtime. */
  handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (closeAfterRepairedFraming(req, res)) return;
    const rt = this.#runtime;
    rt.inFlight++;
    const ctx = this.#context(req, res, rt);
    this.#metrics.requestStarted();
    if (this.#draining) res.shouldKeepAlive = false;
    // Log and count once the response closed and the pipeline settled: the proxy knows the bytes sent only then.
    let open = 2;
    const done = () => {
      if (--open === 0) this.#finish(ctx, rt);
    };
    res.on('close', done); // fires once; `on` spares `once`'s wrapper
    this.#handle(ctx, rt).then(done, (err: unknown) => {
      try {
        this.#fail(ctx, err);
      } finally {
        done();
      }
    });
  };

  upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    headArrived(socket);
    const rt = this.#runtime;
    rt.inFlight++;
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    const ctx: UpgradeContext = this.#context(req, res, rt);
    ctx.upgrade = { socket, head };
    this.#metrics.requestStarted();
    socket.on('error', () => socket.destroy());
    this.#upgraded.add(socket);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.#upgraded.delete(socket);
      // A joined tunnel answered 101 (or relayed the upstream's answer); a refusal went through res.
      const status = ctx.tunnelStatus || (res.headersSent ? res.statusCode : 499);
      this.#finish(ctx, rt, status);
    };
    socket.once('close', finish);
    this.#handleUpgrade(ctx, rt)
      .catch((err) => {
        this.#fail(ctx, err);
        res.once('finish', () => closeSoon(socket as Socket));
      })
      .finally(() => {
        if (socket.destroyed) finish();
      });
  };

  async #handle(ctx: RequestContext, rt: Runtime): Promise<void> {
    this.#route(ctx, rt);
    if (ctx.route === undefined) return; // answered by CORS preflight
    rt.limitBody(ctx);
    await rt.chains.get(ctx.route.route)!(ctx);
  }

  async #handleUpgrade(ctx: UpgradeContext, rt: Runtime): Promise<void> {
    // Only WebSocket is carried: other upgrades (h2c) would let a client tunnel past the gateway's checks.
    if (ctx.req.method !== 'GET' || String(ctx.req.headers.upgrade).toLowerCase() !== 'websocket') {
      throw new GatewayError('GW_BAD_REQUEST', { detail: 'only WebSocket upgrades are supported' });
    }
    this.#route(ctx, rt);
    const chain = ctx.route && rt.upgradeChains.get(ctx.route.route);
    if (!chain) throw new GatewayError('GW_ROUTE_NOT_FOUND', { detail: 'no WebSocket route for this path' });
    await chain(ctx);
  }

  /** Normalize once, check host and CORS, then route: one path serves routing, authorization and forwarding. */
  #route(ctx: RequestContext, rt: Runtime): void {
    const { path, search } = normalizePath(ctx.req.url ?? '');
    ctx.path = path;
    ctx.search = search;
    if (hasDuplicateHost(ctx.req.rawHeaders)) {
      throw new GatewayError('GW_BAD_REQUEST', { detail: 'more than one Host header' });
    }
    rt.checkHost?.(ctx);
    if (rt.cors?.(ctx)) return;
    const match = rt.router.match(ctx.req.method ?? 'GET', ctx.forwarded.host, path);
    if ('miss' in match) {
      throw match.miss === 404
        ? new GatewayError('GW_ROUTE_NOT_FOUND', { detail: `no route for ${path}` })
        : new GatewayError('GW_METHOD_NOT_ALLOWED', { headers: { allow: match.allow.join(', ') } });
    }
    ctx.route = match;
    // Only a route without a method list takes TRACE here; it would echo cookies and credentials back (XST).
    if (ctx.req.method === 'TRACE') {
      throw new GatewayError('GW_METHOD_NOT_ALLOWED', { headers: { allow: HTTP_METHODS.join(', ') } });
    }
  }

  #fail(ctx: RequestContext, err: unknown): void {
    let problem: GatewayError;
    if (isGatewayError(err)) {
      problem = err;
      // Upstream failures carry their cause and earn a warning; a deliberate 503 is in the access log already.
      if (problem.status >= 500 && problem.cause !== undefined)
        ctx.log.warn({ code: problem.code, cause: describeCause(problem.cause) }, problem.message);
    } else {
      ctx.log.error({ err }, 'unhandled error');
      problem = new GatewayError('GW_INTERNAL');
    }
    sendProblem(ctx.res, problem, ctx.requestId, ctx.responseHeaders);
  }

  /** One request's state, from what the gateway itself knows about the connection. */
  #context(req: IncomingMessage, res: ServerResponse, rt: Runtime): RequestContext {
    return new RequestContext(
      req,
      res,
      requestIdOf(req),
      traceparentOf(req),
      clientAddress(req, rt.trust),
      this.logger,
    );
  }

  #finish(ctx: RequestContext, rt: Runtime, answered?: number): void {
    rt.requestDone();
    // While draining, a connection whose last request just finished is idle: close it now rather
    // than wait for the client's keep-alive to lapse.
    if (this.#draining) this.#server?.closeIdleConnections();
    const res = ctx.res;
    const status = answered ?? (res.writableFinished ? res.statusCode : 499);
    this.#metrics.requestFinished(
      ctx.route?.route.id ?? 'unmatched',
      ctx.req.method ?? 'GET',
      status,
      (performance.now() - ctx.startedAt) / 1000,
    );
    if (rt.config.logging.accessLog) {
      const bytes = ctx.bytesSent ?? Number(res.getHeader('content-length') ?? 0);
      this.#accessLog(ctx, status, bytes);
    }
  }

  #build(config: GatewayConfig): Runtime {
    return new Runtime(config, {
      plugins: this.#plugins,
      logger: this.logger,
      metrics: this.#metrics,
      engine: this.#engine,
      wsEngine: this.#wsEngine,
      builtins: this.#builtins,
      bodyBudget: this.#bodyBudget,
    });
  }

  /** Starts plugins and background checks without a server of our own (for embedding). */
  async start(): Promise<void> {
    if (this.#started) return;
    // Ready only after the first check round: /health never starts out guessing.
    await this.#runtime.start();
    for (const plugin of this.#plugins) await plugin.start?.(this);
    this.#started = true;
    void this.#openapi.use(catalogSources(this.#runtime, this.#plugins));
  }

  async listen(opts: { port?: number; host?: string } = {}): Promise<{ port: number; host: string }> {
    const { server: cfg } = this.#runtime.config;
    const server = createServer(
      {
        maxHeaderSize: cfg.limits.headers,
        headersTimeout: cfg.timeouts.headers,
        requestTimeout: cfg.timeouts.request,
        // Node enforces the two timeouts above only on this tick (30 s by default): slow clients got 30 s more.
        connectionsCheckingInterval: Math.max(
          100,
          Math.min(1_000, cfg.timeouts.headers, cfg.timeouts.request),
        ),
        keepAliveTimeout: cfg.timeouts.keepAlive,
        // Duplicate headers stay as Node joins them; the auth plugin checks rawHeaders where it matters.
        joinDuplicateHeaders: false,
        requireHostHeader: true,
      },
      this.handler,
    );
    this.guard(server);
    server.on('upgrade', this.upgrade);
    // `Expect: 100-continue` is ours to answer: the proxy invites the body once the request may go on.
    server.on('checkContinue', this.handler);
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => rejectBadRequest(err, socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? cfg.port, opts.host ?? cfg.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await this.start();
    const addr = server.address() as { port: number; address: string };
    this.logger.info(
      { port: addr.port, host: addr.address, routes: this.#runtime.routes.length },
      'gateway listening',
    );
    return { port: addr.port, host: addr.address };
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
    const addr = this.#server?.address();
    return addr && typeof addr === 'object' ? { port: addr.port, host: addr.address } : undefined;
  }

  close(opts: CloseOptions = {}): Promise<void> {
    this.#closed ??= this.#close(opts.graceMs ?? this.#runtime.config.server.timeouts.shutdown);
    return this.#closed;
  }

  async #close(graceMs: number): Promise<void> {
    this.#draining = true;
    // Leave service discovery first, so no new traffic is sent here while we drain.
    for (const plugin of [...this.#plugins].reverse()) {
      await plugin
        .stop?.()
        .catch((err: unknown) => this.#warnWithoutStack(err, { plugin: plugin.name }, 'plugin stop failed'));
    }
    const server = this.#server;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
        timer.unref();
      });
      await Promise.race([closed, deadline]);
      clearTimeout(timer);
      server.closeAllConnections();
      // Upgraded sockets left the HTTP server's books but still hold it open: WebSockets end here.
      for (const socket of this.#upgraded) socket.destroy();
      await closed;
    }
    this.#runtime.stop();
    this.#openapi.stop();
    await Promise.all([
      this.#engine.close(),
      this.#engine === this.#wsEngine ? undefined : this.#wsEngine.close(),
    ]);
    this.logger.flush?.();
  }

  async reload(input: unknown): Promise<void> {
    let config: GatewayConfig;
    let next: Runtime;
    try {
      config = parseConfig(input);
      next = this.#build(config);
    } catch (err) {
      this.#reloads.failed(err);
      throw err;
    }
    const previous = this.#runtime;
    if (JSON.stringify(previous.config.server) !== JSON.stringify(config.server)) {
      this.logger.warn('server settings (port, limits, timeouts) apply on restart, not on reload');
    }
    if (this.#started) await next.start();
    this.#runtime = next;
    previous.retire();
    this.#reloads.succeeded(config);
    if (this.#started) void this.#openapi.use(catalogSources(next, this.#plugins));
    this.logger.info({ routes: next.routes.length }, 'config reloaded');
  }

  reloadFailed(reason: unknown): void {
    this.#reloads.failed(reason);
  }

  routes(): RouteSummary[] {
    return this.#runtime.routes.map((r) => ({
      id: r.id,
      kind: r.kind,
      prefix: r.config.prefix,
      host: r.config.host,
      methods: r.config.methods ?? ['*'],
      service: r.serviceName,
      stripPrefix: r.config.stripPrefix,
      auth: r.config.auth,
      scopes: r.config.scopes,
    }));
  }

  async openapi(opts: { refresh?: boolean } = {}): Promise<Record<string, unknown>> {
    if (opts.refresh || !this.#started) await this.#openapi.use(catalogSources(this.#runtime, this.#plugins));
    return JSON.parse(this.#openapi.render(undefined).json);
  }

  /** Operators read the reason in one line; the error with its stack is there at debug level. */
  #warnWithoutStack(err: unknown, fields: Record<string, unknown>, msg: string): void {
    this.logger.debug({ ...fields, err }, msg);
    const reason = String((err as Error)?.message ?? err).split('\n')[0];
    this.logger.warn({ ...fields, reason }, msg);
  }

  async health(): Promise<GatewayHealth> {
    const services = this.#serviceHealth();
    const components = await this.#componentHealth();
    const status = overallStatus(services, components);
    return { status, service: this.config.name, version: VERSION, services, components };
  }

  #serviceHealth(): Record<string, ServiceStatus> {
    const out: Record<string, ServiceStatus> = {};
    for (const [name, pool] of this.#runtime.pools) out[name] = pool.status();
    return out;
  }

  async #componentHealth(): Promise<Record<string, ComponentHealth>> {
    const out: Record<string, ComponentHealth> = {};
    const docs = this.#openapi.health();
    if (docs) out.openapi = docs;
    await Promise.all(
      this.#plugins.map(async (p) => {
        const check = p.health ?? p.discovery?.health?.bind(p.discovery);
        if (!check) return;
        try {
          out[p.name] = await check.call(p);
        } catch (err) {
          // The message may name internal addresses: it goes to the log, not to /health.
          this.#warnWithoutStack(err, { plugin: p.name }, 'health check failed');
          out[p.name] = { healthy: false, detail: { error: 'health check failed' } };
        }
      }),
    );
    return out;
  }
}

/** Answers what Node's parser refused (bad syntax, headers too large, timeouts) and closes. */
function rejectBadRequest(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? '431 Request Header Fields Too Large'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function describeCause(cause: unknown): string | undefined {
  if (cause === undefined) return undefined;
  const e = cause as { code?: string; message?: string };
  return e.code ?? e.message;
}
