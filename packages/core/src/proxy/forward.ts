import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyRoute, RoutedContext, TlsOptions, TlsProvider, TransportOptions } from '../types.js';
import { staticTls } from '../upstream/tls.js';
import { withRetries } from './attempts.js';
import type { ForwardDeps } from './forward-deps.js';
import { grpcForwarder } from './forward-grpc.js';
import { upstreamRequestHeaders } from './headers.js';
import { hasRequestBody, inviteBody } from './request-body.js';
import type { WebSocketTunnel } from './websocket-tunnel.js';

/** RFC 9110 §9.2.2: methods a client may send twice with the effect of once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** A context on the upgrade path carries the client's raw socket and the bytes read past the headers. */
export type UpgradeContext = RoutedContext & {
  upgrade?: { socket: Duplex; head: Buffer };
  /** The upstream's answer to the handshake (101 when joined), for the access log. */
  tunnelStatus?: number;
};

/** The route's timeouts (route overrides, else the service's) and a transport that follows TLS rotation. */
export function transportFor(route: ProxyRoute, tlsProvider: TlsProvider | undefined) {
  const { service, serviceName } = route;
  const connectTimeout = route.config.timeouts?.connect ?? service.timeouts.connect;
  const idleTimeout = route.config.timeouts?.idle ?? service.timeouts.idle;
  // Engines keep one connection pool per key: routes with their own timeouts get their own.
  const key =
    connectTimeout === service.timeouts.connect && idleTimeout === service.timeouts.idle
      ? serviceName
      : `${serviceName}~${connectTimeout}~${idleTimeout}`;
  const tls = staticTls(service.tls);
  // The files are read once per build (a reload re-reads them); their digest tells a rotation apart.
  const base: TransportOptions = {
    key: tls ? `${key}:${tlsDigest(tls)}` : key,
    slot: key,
    connectTimeout,
    idleTimeout,
    tls,
  };
  return {
    timeout: route.config.timeout ?? service.timeout,
    transport(): TransportOptions {
      const current = tlsProvider?.current();
      return current ? { ...base, key: `${key}:${current.version}`, tls: current } : base;
    },
  };
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
  const { pool, engine, metrics } = deps;
  const forwardGrpc = grpcForwarder(route, deps, { timeout, transport });

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
        return { outcome: result.status >= 500 ? 'http-5xx' : 'ok', status: result.status };
      },
    );
  };
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
        return {
          outcome: result.status >= 500 ? 'http-5xx' : 'ok',
          at: result.answeredAt,
          status: result.status,
        };
      },
    );
  };
}

/** A digest of static TLS material (CA, certificate, key): equal exactly when the files are. */
function tlsDigest(tls: TlsOptions): string {
  const hash = createHash('sha256');
  for (const part of [tls.ca, tls.cert, tls.key]) {
    for (const piece of Array.isArray(part) ? part : [part]) hash.update(piece ?? '').update('\0');
  }
  return hash.digest('base64url').slice(0, 16);
}
