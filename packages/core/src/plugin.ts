import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { PluginSchema } from './config/plugin-schema.js';
import type { GatewayConfig, ServiceConfig } from './config/schema.js';
import type { AuthChallenge, AuthRefusal } from './identity.js';
import type { Handler } from './pipeline/compose.js';
import type { Router } from './routing/router.js';
import type { CertificateSource } from './server/certificate-source.js';
import type {
  ComponentHealth,
  Discovery,
  Gateway,
  GatewayHealth,
  Middleware,
  ProxyRoute,
  RequestTracer,
  Route,
  Target,
  TlsOptions,
  TlsProvider,
} from './types.js';
import type { UpstreamPool } from './upstream/pool.js';

/** What a plugin gets once, when the gateway is built. */
export interface PluginSetup {
  config: GatewayConfig;
  logger: Logger;
  /** The gateway's one metrics registry; register plugin metrics here. */
  registry: Registry;
  /** Metric name prefix (`lucid_gateway_`), so all of the gateway's metrics read alike. */
  metricPrefix: string;
}

/**
 * A plugin adds middleware to routes and/or provides discovery, with a lifecycle.
 * `middleware(route)` is called once per route when the gateway is built (and again on
 * reload): check options there, not per request.
 */
export interface GatewayPlugin {
  name: string;
  /** Its config (section, route and service options, discovery kinds) and error codes, composed by core. */
  schema?: PluginSchema;
  /**
   * What it does for core's promises. `authentication`: its middleware verifies who calls and sets
   * `ctx.state.identity`; core then enforces each route's `auth` (401) and `scopes` (403). Without
   * such a plugin a route that needs auth is refused at build time (fail closed).
   * (A plugin with `discovery` provides `discovery:<kind>` without saying so.)
   */
  provides?: readonly string[];
  /** Headers it sets from a verified identity; core drops a client's copies on every route. */
  identityHeaders?: readonly string[];
  /**
   * An authenticator's part in core's 401/403: its `WWW-Authenticate` challenge (and a clearer
   * detail). Called when core refuses a protected route; every authenticator's challenge is sent.
   */
  challenge?(refusal: AuthRefusal): AuthChallenge | undefined;
  /**
   * Where this plugin's middleware runs in a route's chain; lower runs first (see `PLUGIN_ORDER`).
   */
  order?: number;
  setup?(setup: PluginSetup): void;
  /**
   * The handlers of the built-ins its `schema.builtins` declares, by name; called once per gateway
   * with the gateway's read-only view (a built-in that is off is never called).
   */
  builtins?(view: GatewayView): Readonly<Record<string, Handler>>;
  middleware?(route: Route): Middleware | undefined;
  discovery?: Discovery;
  /** Certificates for the HTTPS port (`server.tls.acme`); a plugin with them provides `certificates`. */
  certificates?: CertificateSource;
  /** TLS for upstream connections of a service (e.g. a service mesh's mTLS); asked once per service. */
  upstreamTls?(serviceName: string, service: ServiceConfig): TlsProvider | undefined;
  /** Follows requests as traces (one plugin at most; the first one that has it is used). */
  tracer?: RequestTracer;
  /**
   * Phase 1, at start: get ready (connect a store, fetch keys, register). The gateway is ready, and
   * `listen()` resolves, once every plugin's `start` resolved; bound it by the plugin's own timeout
   * and follow its own policy when that passes. A rejection fails the start (or the reload it is in).
   */
  start?(gateway: Gateway): Promise<void>;
  /**
   * Phase 2, at stop, before the drain: leave whatever sends traffic here (deregister from
   * discovery). Requests in flight are still served, so nothing they need may go yet.
   */
  leave?(): Promise<void>;
  /**
   * Phase 4, at stop, after the drain (every request has finished or was cut): release what the
   * plugin holds (store connections, key-set fetches, timers, global registrations).
   */
  close?(): Promise<void>;
  /** @deprecated Use `close()` (and `leave()` for what must happen before the drain); runs where `close()` runs. */
  stop?(): Promise<void>;
  health?(): Promise<ComponentHealth>;
  /**
   * Health of parts of its own under /health's `components`, by name, when they come and go with the
   * config (an empty record while there is nothing to report). A failing check reads unhealthy.
   */
  componentHealth?(): Promise<Record<string, ComponentHealth>>;
  /** Counters for the dashboard, by name: `{ rejectedByTier: { free: 3 } }` (numbers only, never secrets). */
  dashboard?(): Promise<Record<string, Record<string, number>>>;
  /**
   * What it does on a proxy route, as columns of the dashboard's routes table, by key (never secrets):
   * `{ quota: { label: 'quota', value: '1000/day' } }`.
   */
  dashboardRoute?(route: ProxyRoute): Record<string, DashboardColumn>;
}

/** A plugin's column in the dashboard's routes table and this route's value in it. */
export interface DashboardColumn {
  label: string;
  value: string | Record<string, string>;
}

/**
 * Where in a route's chain a plugin runs: before authentication, authentication, limits on the
 * identity, the rest; from `afterBody` on, after the request body was buffered (`ctx.heldBody`),
 * just before the proxy takes an upstream connection.
 */
export const PLUGIN_ORDER = {
  beforeAuthentication: 50,
  authentication: 100,
  limits: 200,
  user: 500,
  afterBody: 1000,
} as const;

/** What happens in a gateway that packages built over it may follow (see `GatewayView.observe`). */
export interface GatewayObserver {
  /** A config is in force: once the gateway started, and after each reload that worked. */
  configured?(config: GatewayConfig): void;
  /** A reload was refused (a config that did not validate or build, or a file that did not load). */
  reloadFailed?(reason: unknown): void;
  /** Discovery took targets out of a service's pool. */
  targetsRemoved?(service: string, targets: readonly Target[], at: number): void;
  /** The gateway is closing: let go of timers and background work. */
  closed?(): void;
}

/**
 * A read-only view of a running gateway for the packages built over it (the API reference, the
 * dashboard): what it runs now, asked per read so a reload shows at once, and its events.
 */
export interface GatewayView {
  /** The gateway's name (`name` in its config) and version. */
  readonly name: string;
  readonly version: string;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metricPrefix: string;
  readonly plugins: readonly GatewayPlugin[];
  /** What the plugins provide (`authentication`, `discovery:<kind>`, ...). */
  readonly provides: ReadonlySet<string>;
  /** The config in force. */
  config(): GatewayConfig;
  /** The routes of the config in force (proxy routes and built-ins), and the router that picks among them. */
  routes(): readonly Route[];
  router(): Router;
  /** The upstream pools of the config in force, by service: targets, their state and checks. */
  pools(): ReadonlyMap<string, UpstreamPool>;
  /** The TLS a service's traffic uses (a plugin's, e.g. a service mesh's, else the service's files). */
  tls(service: string): TlsOptions | undefined;
  /** Each service's state from its pool's cached checks. */
  services(): GatewayHealth['services'];
  /** Plugins' and discovery's own health. */
  components(): Promise<Record<string, ComponentHealth>>;
  /** False while starting or draining. */
  ready(): boolean;
  /** While not ready: what the gateway waits on (`health-checks`, a plugin's name, `draining`). */
  waiting(): string[];
  /** Where a built-in is mounted in the config in force, or undefined when it is off. */
  mounted(builtin: string): string | undefined;
  /** Where the API reference is mounted (a built-in with `reference: true`), if one is on. */
  reference(): string | undefined;
  /** Follows the gateway's events; returns a function that stops following. */
  observe(observer: GatewayObserver): () => void;
}
