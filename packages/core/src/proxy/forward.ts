import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type Duplex, Readable } from 'node:stream';
import { GatewayError } from '../errors.js';
import { ReplayTap } from '../grpc/replay.js';
import { formatGrpcTimeout, parseGrpcTimeout } from '../grpc/timeout.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { ProxyEngine, ProxyRoute, RoutedContext, TlsProvider, TransportOptions } from '../types.js';
import type { RequestOutcome, UpstreamPool } from '../upstream/pool.js';
import type { TargetState } from '../upstream/target-state.js';
import { staticTls } from '../upstream/tls.js';
import type { BodyBudget } from './body-buffer.js';
import { upstreamRequestHeaders } from './headers.js';
import { hasRequestBody, inviteBody } from './request-body.js';
import {
  classifyUpstreamError,
  errorCode,
  retryableFailure,
  toGatewayError,
  UpstreamDeadlineError,
  unseenByUpstream,
} from './upstream-error.js';
import type { WebSocketTunnel } from './websocket-tunnel.js';

/** RFC 9110 §9.2.2: methods a client may send twice with the effect of once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const NONE: readonly TargetState[] = [];

export interface ForwardDeps {
  pool: UpstreamPool;
  engine: ProxyEngine;
  metrics: GatewayMetrics;
  /** TLS from a plugin (e.g. a service mesh's mTLS); takes precedence over the service's own `tls` files. */
  tlsProvider: TlsProvider | undefined;
  /** How much of a streamed gRPC body may be kept for a resend, and the budget it is taken from (unset: none). */
  replay?: { max: number; budget: BodyBudget };
}

/** A context on the upgrade path carries the client's raw socket and the bytes read past the headers. */
export type UpgradeContext = RoutedContext & {
  upgrade?: { socket: Duplex; head: Buffer };
  /** The upstream's answer to the handshake (101 when joined), for the access log. */
  tunnelStatus?: number;
};

/** The route's timeouts (route overrides, else the service's) and a transport that follows TLS rotation. */
function transportFor(route: ProxyRoute, tlsProvider: TlsProvider | undefined) {
  const { service, serviceName } = route;
  const connectTimeout = route.config.timeouts?.connect ?? service.timeouts.connect;
  const idleTimeout = route.config.timeouts?.idle ?? service.timeouts.idle;
  // Engines keep one connection pool per key: routes with their own timeouts get their own.
  const key =
    connectTimeout === service.timeouts.connect && idleTimeout === service.timeouts.idle
      ? serviceName
      : `${serviceName}~${connectTimeout}~${idleTimeout}`;
  const base: TransportOptions = { key, connectTimeout, idleTimeout, tls: staticTls(service.tls) };
  return {
    timeout: route.config.timeout ?? service.timeout,
    transport(): TransportOptions {
      const tls = tlsProvider?.current();
      return tls ? { ...base, key: `${key}:${tls.version}`, tls } : base;
    },
  };
}

/** How one attempt ended when it did not throw; `at` is when the upstream answered (default: now). */
interface AttemptResult {
  outcome: Extract<RequestOutcome, 'ok' | 'http-5xx' | 'aborted'>;
  at?: number;
}

interface AttemptPolicy {
  pool: UpstreamPool;
  metrics: GatewayMetrics;
  serviceName: string;
  /** Retries this request may have (0 when it must not be sent twice). */
  retries: number;
  /** True once anything reached the client (or it left): then no retry. */
  committed(): boolean;
  /** Record each attempt in its target's request window (plain HTTP; a tunnel's life is no request). */
  recordWindow: boolean;
  /** Whether this failure may be tried again (default: it came before any answer, see `retryableFailure`). */
  retryable?: (err: unknown) => boolean;
  /**
   * The deadline is the client's own (shorter than the route's timeout): its expiry says nothing
   * about the target, so it is not counted against it (else short deadlines could open breakers).
   */
  clientDeadline?: boolean;
}

/**
 * The one attempt loop of HTTP and WebSocket alike: pick a target, try, report the outcome to the
 * pool and the metrics, and retry on another target only when the failure came before any answer,
 * nothing reached the client, and attempts and budget are left.
 */
async function withRetries(
  ctx: RoutedContext,
  policy: AttemptPolicy,
  attempt: (state: TargetState, fresh: boolean) => Promise<AttemptResult>,
): Promise<void> {
  const { pool, metrics, serviceName } = policy;
  let tried = NONE;
  let fresh = false;
  for (;;) {
    const state = pool.pick(tried);
    ctx.target = state.target;
    const started = performance.now();
    try {
      const result = await attempt(state, fresh);
      pool.release(state, result.outcome);
      if (result.outcome !== 'aborted') {
        const ended = result.at ?? performance.now();
        metrics.upstreamFinished(serviceName, (ended - started) / 1000, 'ok');
        // The clock read above, as epoch ms: a second clock read costs more than the recording.
        if (policy.recordWindow)
          state.window.record(ended - started, result.outcome === 'http-5xx', performance.timeOrigin + ended);
      }
      return;
    } catch (err) {
      const code = errorCode(err);
      if (code === 'LUCID_CLIENT_ABORTED') {
        pool.release(state, 'aborted');
        return;
      }
      if (code === 'LUCID_UPSTREAM_DEADLINE' && policy.clientDeadline === true) {
        pool.release(state, 'aborted');
        throw toGatewayError(err, serviceName);
      }
      const outcome = classifyUpstreamError(err);
      pool.release(state, outcome);
      const ended = performance.now();
      metrics.upstreamFinished(serviceName, (ended - started) / 1000, outcome);
      if (policy.recordWindow) state.window.record(ended - started, true, performance.timeOrigin + ended);
      if (
        tried.length < policy.retries &&
        !policy.committed() &&
        (policy.retryable ?? retryableFailure)(err) &&
        pool.tryRetry(state, outcome)
      ) {
        tried = [...tried, state];
        ctx.log.debug({ target: state.target.id, code: errorCode(err), retry: tried.length }, 'retrying');
        // A lost pooled connection: its idle siblings may be closing too, so retry on a new one.
        fresh = outcome === 'error';
        continue;
      }
      if (ctx.res.headersSent) {
        ctx.log.warn({ target: state.target.id, code: errorCode(err) }, 'upstream failed mid-response');
      }
      throw toGatewayError(err, serviceName);
    }
  }
}

/**
 * The terminal handler of a proxy route: forward, and on failure retry only when it is certainly
 * safe: an idempotent method (or `ctx.state.retryable === true`, set by middleware for requests it
 * knows to be safe), no request body (it streams through and is not kept), nothing relayed yet.
 *
 * @example
 * const proxy = forwardTo(route, { pool, engine, metrics, tlsProvider: undefined });
 * await proxy(ctx);
 */
export function forwardTo(route: ProxyRoute, deps: ForwardDeps) {
  const { serviceName, service } = route;
  const { timeout, transport } = transportFor(route, deps.tlsProvider);
  const maxRetries = service.retry.attempts;
  const { pool, engine, metrics, replay } = deps;

  return async function proxy(ctx: RoutedContext): Promise<void> {
    if (ctx.grpc !== undefined) return forwardGrpc(ctx);
    const method = ctx.req.method ?? 'GET';
    const mayRetry =
      maxRetries > 0 && (IDEMPOTENT.has(method) || ctx.state.retryable === true) && !hasRequestBody(ctx.req);
    const path = ctx.route.upstreamPath + ctx.search;
    inviteBody(ctx.res);
    await withRetries(
      ctx,
      {
        pool,
        metrics,
        serviceName,
        retries: mayRetry ? maxRetries : 0,
        committed: () => ctx.res.headersSent || ctx.res.destroyed,
        recordWindow: true,
      },
      async (state, fresh) => {
        const result = await engine.forward(ctx, state.target, {
          path,
          headers: upstreamRequestHeaders(ctx, state.target, service.preserveHost),
          timeout,
          transport: transport(),
          fresh,
        });
        ctx.bytesSent = result.bytes;
        return { outcome: result.status >= 500 ? 'http-5xx' : 'ok' };
      },
    );
  };

  /**
   * A gRPC call: its `grpc-timeout` (capped by the route's timeout) is the deadline of the whole
   * exchange, retries included, and the upstream is told what is left of it. It is sent again only
   * when the upstream certainly never saw it (no connection, or REFUSED_STREAM) and its body can be
   * replayed: held whole by the gateway, kept as it passed (a streamed body, up to a bound), or not
   * read at all yet.
   */
  async function forwardGrpc(ctx: RoutedContext): Promise<void> {
    const asked = parseGrpcTimeout(ctx.req.headers['grpc-timeout']);
    if (Number.isNaN(asked)) throw new GatewayError('GW_BAD_REQUEST', { detail: 'malformed grpc-timeout' });
    const deadlineAt = asked === undefined ? undefined : ctx.startedAt + Math.min(asked, timeout);
    const path = ctx.route.upstreamPath + ctx.search;
    // gRPC servers may insist on it (it is hop-by-hop, so the client's copy was dropped).
    ctx.upstreamHeaders.te = 'trailers';
    inviteBody(ctx.res);
    // A streamed body is kept as it passes (up to a bound), so a call the upstream never saw can go again.
    const tap =
      maxRetries > 0 &&
      replay !== undefined &&
      replay.max > 0 &&
      ctx.heldBody === undefined &&
      hasRequestBody(ctx.req)
        ? new ReplayTap(ctx.body, replay.max, replay.budget)
        : undefined;
    if (tap !== undefined) ctx.body = tap.body;
    let attempts = 0;
    try {
      await withRetries(
        ctx,
        {
          pool,
          metrics,
          serviceName,
          retries: maxRetries,
          committed: () => ctx.res.headersSent || ctx.res.destroyed,
          recordWindow: true,
          retryable: (err) => unseenByUpstream(err) && replayable(ctx, tap),
          clientDeadline: asked !== undefined && asked < timeout,
        },
        async (state, fresh) => {
          if (attempts++ > 0) {
            if (ctx.heldBody !== undefined) ctx.body = Readable.from([ctx.heldBody]);
            else if (tap !== undefined) ctx.body = tap.replay() ?? ctx.body;
          }
          const headers = upstreamRequestHeaders(ctx, state.target, service.preserveHost);
          let deadline: number | undefined;
          if (deadlineAt !== undefined) {
            deadline = deadlineAt - performance.now();
            if (deadline <= 0) throw new UpstreamDeadlineError(Math.min(asked!, timeout));
            headers['grpc-timeout'] = formatGrpcTimeout(deadline);
          }
          const result = await engine.forward(ctx, state.target, {
            path,
            headers,
            timeout,
            transport: transport(),
            fresh,
            ...(deadline !== undefined && { deadline }),
          });
          ctx.bytesSent = result.bytes;
          return { outcome: result.status >= 500 ? 'http-5xx' : 'ok' };
        },
      );
    } finally {
      tap?.release();
    }
  }
}

/** A body that can go out again: held whole, kept so far by the tap, or not touched yet. */
function replayable(ctx: RoutedContext, tap: ReplayTap | undefined): boolean {
  return ctx.heldBody !== undefined || tap?.replayable === true || !ctx.body.readableDidRead;
}

/**
 * The terminal handler of a WebSocket upgrade on a proxy route, after the route's whole chain (auth,
 * rate limit) has run. The handshake may be retried on another target while the upstream could not be
 * reached; once anything was written to the client, it is the client's to handle.
 *
 * @example
 * const proxyUpgrade = upgradeTo(route, { pool, tunnel, metrics, tlsProvider: undefined });
 */
export function upgradeTo(
  route: ProxyRoute,
  deps: Omit<ForwardDeps, 'engine'> & { tunnel: WebSocketTunnel },
) {
  const { serviceName, service } = route;
  const { timeout, transport } = transportFor(route, deps.tlsProvider);
  const { pool, tunnel, metrics } = deps;

  return async function proxyUpgrade(ctx: UpgradeContext): Promise<void> {
    const upgrade = ctx.upgrade;
    if (upgrade === undefined) throw new Error('proxyUpgrade runs on the upgrade path only');
    const socket = upgrade.socket as Socket;
    const path = ctx.route.upstreamPath + ctx.search;
    await withRetries(
      ctx,
      {
        pool,
        metrics,
        serviceName,
        retries: service.retry.attempts,
        committed: () => socket.destroyed,
        recordWindow: false,
      },
      async (state) => {
        const result = await tunnel.open(ctx, socket, upgrade.head, state.target, {
          path,
          headers: upstreamRequestHeaders(ctx, state.target, service.preserveHost),
          timeout,
          // A tunnel may stay quiet for long: the idle timeout is not for it.
          transport: { ...transport(), idleTimeout: 0 },
        });
        ctx.tunnelStatus = result.status;
        if (result.status === 0) return { outcome: 'aborted' };
        return { outcome: result.status >= 500 ? 'http-5xx' : 'ok', at: result.answeredAt };
      },
    );
  };
}
