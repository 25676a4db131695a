import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { GatewayConfig, GatewayConfigInput, RouteConfig, ServiceConfig } from './config/schema.js';
import type { Identity } from './identity.js';

/** What a verified credential carries (a token's payload); the plugin that authenticates fills it. */
export interface UserClaims {
  sub?: string;
  [claim: string]: unknown;
}

export interface GatewayState {
  /**
   * Who calls, as an authenticating plugin verified it; never derived from client headers. Core
   * authorizes on it: `auth: required` needs one, `scopes` must all be in `identity.scopes`.
   */
  identity?: Identity;
  [key: string]: unknown;
}

/** One upstream endpoint. `id` is stable across discovery updates (the URL's origin). */
export interface Target {
  id: string;
  url: URL;
  weight: number;
  /** Extra data from discovery (node, tags, workload identity, ...). */
  meta?: Record<string, string>;
}

interface RouteBase {
  /** Stable label for metrics and logs: the route's name, else its prefix (never a raw path). */
  id: string;
  /** Match the prefix itself only, not paths below it (the root built-in `/`). */
  exact: boolean;
  /** The validated route settings (a built-in's are made from `builtins.<name>`). */
  config: RouteConfig;
}

/** A configured route: forwards to its service's targets. */
export interface ProxyRoute extends RouteBase {
  kind: 'proxy';
  serviceName: string;
  service: ServiceConfig;
}

/** One of the gateway's own routes (`/`, `/health`, `/metrics`): answered by its handler. */
export interface BuiltinRoute extends RouteBase {
  kind: 'builtin';
  /** Its name under `builtins.<name>` (core's or a plugin's). */
  builtin: string;
  handler: (ctx: RoutedContext) => Promise<void>;
}

/** A route as the gateway runs it: the validated config plus what was resolved at build time. */
export type Route = ProxyRoute | BuiltinRoute;

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
  /** The normalized path to forward (prefix stripped when the route says so), without the query. */
  upstreamPath: string;
}

export interface GatewayContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  /** The client's address: the socket peer, or the first untrusted hop of X-Forwarded-For from a trusted proxy. */
  readonly clientIp: string;
  /** `http` or `https`, as the client spoke to the first trusted hop. */
  readonly protocol: 'http' | 'https';
  /** Who the client is and what it asked for, with X-Forwarded-* believed only from trusted proxies. */
  readonly forwarded: import('./http/client-address.js').ClientAddress;
  /**
   * W3C trace context sent upstream: the client's when well-formed, else a new one; with a tracer,
   * the span of the upstream attempt under way.
   */
  traceparent: string;
  /** This request's trace when a plugin traces requests (see `RequestTracer`). */
  readonly trace?: RequestTrace | undefined;
  /** The normalized path (no query). Routing, authorization and forwarding all use this one value. */
  readonly path: string;
  /** The raw query string including its leading `?`, or empty. */
  readonly search: string;
  /** The route that answers; undefined until the request is routed. */
  route: RouteMatch | undefined;
  state: GatewayState;
  /** A pino child logger bound to this request's id (created on first use). */
  readonly log: Logger;
  /** Headers to add to the upstream request (after the client's, which are already sanitized). */
  readonly upstreamHeaders: OutgoingHttpHeaders;
  /** Headers to add to the client's response, whatever answers (upstream or an error). */
  readonly responseHeaders: OutgoingHttpHeaders;
  /** The request body to forward: the client's request, or a wrapper (e.g. a size limit) around it. */
  body: import('node:stream').Readable;
  /** True when the gateway answers CORS itself; upstream `access-control-*` headers are then dropped. */
  readonly ownsCors?: boolean;
  /** Set by the proxy: which target served the request (for the access log). */
  target?: Target;
  /** Set by the proxy: bytes of the upstream's answer sent to the client (for the access log). */
  bytesSent?: number;
  /** Milliseconds (performance.now()) when the gateway received the request. */
  readonly startedAt: number;
  /** The gRPC protocol the request speaks (`grpc`, `grpc-web`, `grpc-web-text`), from its content type; undefined for plain HTTP. */
  readonly grpc?: import('./grpc/protocol.js').GrpcKind | undefined;
  /** The call's gRPC status once known (upstream trailers or the gateway's own answer). */
  grpcStatus?: number | undefined;
  /** A request body the gateway read whole (buffered), kept for a safe resend. */
  heldBody?: Buffer | undefined;
}

/** A context once routed: what a route's chain sees. */
export type RoutedContext = GatewayContext & { route: RouteMatch };

export type Next = () => Promise<void>;

/** The onion: do work, `await next()` to continue (once), or throw a `GatewayError` to answer. */
export type Middleware = (ctx: RoutedContext, next: Next) => Promise<void>;

export interface ComponentHealth {
  healthy: boolean;
  /** Extra detail shown under /health (never secrets). */
  detail?: Record<string, unknown>;
}

/**
 * Follows requests as traces: a tracing plugin's spans. Core calls it on the request path; without
 * one, the path does nothing more than forward the client's `traceparent`.
 */
export interface RequestTracer {
  /** A request arrived (before routing): its trace, or undefined to leave it untraced. */
  start(ctx: GatewayContext): RequestTrace | undefined;
}

/** One request's trace: its own span, and one span per upstream attempt. */
export interface RequestTrace {
  /** For the access line. */
  readonly traceId: string;
  readonly spanId: string;
  /** An upstream attempt begins; the returned span's `traceparent` is what the upstream gets. */
  attempt(target: Target, attempt: UpstreamAttempt): AttemptTrace;
  /** The request was refused or failed with this error (auth, rate limit, upstream): an event on its span. */
  failed(error: unknown): void;
  /** The request is over, answered with `status` (499 when the client left first). */
  end(ctx: GatewayContext, status: number): void;
}

export interface UpstreamAttempt {
  /** 1 for the first attempt, 2 for the first retry, ... */
  number: number;
  /** Why the previous attempt is retried (its error code); undefined on the first attempt. */
  retryReason: string | undefined;
  /** The target's circuit breaker as the attempt starts. */
  breaker: 'closed' | 'open' | 'half-open';
}

export interface AttemptTrace {
  readonly traceparent: string;
  /** The attempt ended: answered with `status`, or failed with the error's `code`. */
  end(result: { status?: number | undefined; error?: string | undefined }): void;
}

export interface DiscoveryWatchOptions {
  /** The service's config (with the discovery plugin's own options on it). */
  service: ServiceConfig;
}

/** A source of live targets. `watch` returns a function that stops watching. */
export interface Discovery {
  name: string;
  watch(
    serviceName: string,
    onTargets: (targets: Target[]) => void,
    options: DiscoveryWatchOptions,
  ): () => void;
  /** Optional staleness / error report for /health. */
  health?(): Promise<ComponentHealth>;
}

/** Forwards one prepared request to one target and streams the answer back to the client. */
export interface ProxyEngine {
  readonly name: string;
  forward(ctx: GatewayContext, target: Target, outgoing: OutgoingRequest): Promise<ForwardResult>;
  /** Lets go of connections to targets that are no longer in any pool (after discovery changes). */
  retain?(liveTargetIds: ReadonlySet<string>): void;
  close(): Promise<void>;
}

export interface OutgoingRequest {
  /** Path and query to send (already normalized and stripped). */
  path: string;
  headers: OutgoingHttpHeaders;
  /** Response-header timeout in ms. */
  timeout: number;
  /** Transport options for this service (TLS, connect timeout, idle timeout). */
  transport: TransportOptions;
  /**
   * Send on a new connection, not a pooled one: set for a retry after a pooled connection was lost
   * (the upstream closes idle connections together; the next pooled one may be closing as well).
   */
  fresh?: boolean;
  /**
   * Milliseconds for the whole exchange (headers and body); on expiry the upstream request is
   * cancelled and the engine rejects with code `LUCID_UPSTREAM_DEADLINE` (a timeout). Unset: none.
   */
  deadline?: number;
}

export interface TransportOptions {
  /** A key naming this transport; engines keep one connection pool per (origin, key). */
  key: string;
  /**
   * `key` without what names the TLS material (which a rotation changes): an engine that keeps one
   * pool per (slot, target) replaces it when `key` changes, instead of adding one beside it.
   */
  slot?: string;
  connectTimeout: number;
  idleTimeout: number;
  tls?: TlsOptions | undefined;
}

export interface TlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
  rejectUnauthorized?: boolean;
  /** Extra check of the peer certificate (e.g. a SPIFFE identity); return an Error to refuse. */
  checkServerIdentity?: (host: string, cert: import('node:tls').PeerCertificate) => Error | undefined;
}

/** Current TLS material; `version` changes when certificates rotate, so engines open fresh pools. */
export interface TlsProvider {
  current(): (TlsOptions & { version: string }) | undefined;
}

export interface ForwardResult {
  status: number;
  /** Bytes of response body sent to the client. */
  bytes: number;
}

export interface GatewayHealth {
  status: 'healthy' | 'degraded' | 'unhealthy';
  service: string;
  version: string;
  /** true: a check says up; false: checked and down; 'unknown': no check has answered (or checks are off). */
  services: Record<string, boolean | 'unknown'>;
  components?: Record<string, ComponentHealth>;
}

export interface CloseOptions {
  /** How long in-flight requests may take to finish before connections are cut. */
  graceMs?: number;
}

export interface Gateway {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Use as `http.createServer(gateway.handler)`. */
  handler(req: IncomingMessage, res: ServerResponse): void;
  /** Use as `server.on('upgrade', gateway.upgrade)`. */
  upgrade(req: IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void;
  /**
   * The admin listener's entry point (`server.admin`: `/metrics`, the dashboard, the detailed
   * `/health`); `listen()` serves it itself, an embedder mounts it on a server of its own.
   */
  adminHandler(req: IncomingMessage, res: ServerResponse): void;
  /** Where `listen()` bound the admin listener; undefined without `server.admin`. */
  adminAddress(): { port: number; host: string } | undefined;
  /**
   * For embedding: gives a server the embedder owns the gateway's connection guard (a first head
   * within `timeouts.headers` of accept, at most `limits.connections` open). `listen()` does it itself.
   */
  guard(server: import('node:http').Server): void;
  /** Starts plugins and background checks; for embedding (`listen()` calls it). Idempotent. */
  start(): Promise<void>;
  /** Starts plugins and a `node:http` server with the configured limits. Resolves with the bound address. */
  listen(opts?: { port?: number; host?: string }): Promise<{ port: number; host: string }>;
  /** Where `listen()` bound (the real port when 0 was asked for); undefined before listening or when embedded. */
  address(): { port: number; host: string } | undefined;
  /** Stops accepting, lets in-flight requests finish up to `graceMs`, then closes everything. */
  close(opts?: CloseOptions): Promise<void>;
  /** Swaps in a new config atomically; in-flight requests finish on the routes they started on. */
  reload(config: GatewayConfigInput): Promise<void>;
  /** Records a reload refused before it reached `reload()` (a config file that did not load), for observers. */
  reloadFailed(reason: unknown): void;
  routes(): RouteSummary[];
  health(): Promise<GatewayHealth>;
  /** True once started and until draining begins. */
  readonly ready: boolean;
}

export interface RouteSummary {
  id: string;
  kind: 'proxy' | 'builtin';
  prefix: string;
  host: string | undefined;
  methods: string[];
  service: string | undefined;
  /** Which built-in, for a built-in route. */
  builtin: string | undefined;
  stripPrefix: boolean;
  auth: 'required' | 'public';
  scopes: string[];
}

export type { GatewayConfig, GatewayConfigInput, RouteConfig, ServiceConfig };
