import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { GatewayContext, ProxyEngine, Route, TlsProvider, TransportOptions } from '../types.js';
import type { UpstreamPool } from '../upstream/pool.js';
import type { TargetState } from '../upstream/target-state.js';
import { staticTls } from '../upstream/tls.js';
import { upstreamRequestHeaders } from './headers.js';
import type { HttpProxyEngine } from './http-proxy-engine.js';
import { hasRequestBody, inviteBody } from './request-body.js';
import { classifyUpstreamError, errorCode, retryableFailure, toGatewayError } from './upstream-error.js';

export { staticTls } from '../upstream/tls.js';

/** RFC 9110 §9.2.2: methods a client may send twice with the effect of once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const NONE: readonly TargetState[] = [];

export interface ForwardDeps {
  pool: UpstreamPool;
  engine: ProxyEngine;
  metrics: GatewayMetrics;
  /** TLS from a plugin (e.g. Consul Connect); takes precedence over the service's own `tls` files. */
  tlsProvider: TlsProvider | undefined;
}

/** A context on the upgrade path carries the client's raw socket and the bytes read past the headers. */
export type UpgradeContext = GatewayContext & {
  upgrade?: { socket: Duplex; head: Buffer };
  /** The upstream's answer to the handshake (101 when joined), for the access log. */
  tunnelStatus?: number;
};

/** The route's timeouts (route overrides, else the service's) and a transport that follows TLS rotation. */
function transportFor(route: Route, deps: ForwardDeps) {
  const service = route.service!;
  const serviceName = route.serviceName!;
  const connectTimeout = route.config.timeouts?.connect ?? service.timeouts.connect;
  const idleTimeout = route.config.timeouts?.idle ?? service.timeouts.idle;
  // Engines keep one connection pool per key: routes with their own timeouts get their own.
  const key =
    connectTimeout === service.timeouts.connect && idleTimeout === service.timeouts.idle
      ? serviceName
      : `${serviceName}~${connectTimeout}~${idleTimeout}`;
  const base: TransportOptions = { key, connectTimeout, idleTimeout, tls: staticTls(service.tls) };
  const { tlsProvider } = deps;
  return {
    timeout: route.config.timeout ?? service.timeout,
    transport(): TransportOptions {
      const tls = tlsProvider?.current();
      return tls ? { ...base, key: `${key}:${tls.version}`, tls } : base;
    },
  };
}

/**
 * The terminal handler of a proxy route: pick a target, forward, and on failure retry only when it is
 * certainly safe: an idempotent method (or `ctx.state.retryable === true`, set by middleware for
 * requests it knows to be safe), no request body (it streams through and is not kept), nothing
 * relayed to the client yet, a failure before any answer (connect refused, connection lost), attempts
 * and budget left. A retry goes to another target when there is one.
 *
 * @example
 * const proxy = forwardTo(route, { pool, engine, metrics, tlsProvider: undefined });
 * await proxy(ctx);
 */
export function forwardTo(route: Route, deps: ForwardDeps) {
  const service = route.service!;
  const serviceName = route.serviceName!;
  const { timeout, transport } = transportFor(route, deps);
  const maxRetries = service.retry.attempts;
  const { pool, engine, metrics } = deps;

  return async function proxy(ctx: GatewayContext): Promise<void> {
    const method = ctx.req.method ?? 'GET';
    const mayRetry =
      maxRetries > 0 && (IDEMPOTENT.has(method) || ctx.state.retryable === true) && !hasRequestBody(ctx.req);
    const path = ctx.route.upstreamPath + ctx.search;
    inviteBody(ctx.res);
    let tried = NONE;
    let fresh = false;
    for (;;) {
      const state = pool.pick(tried);
      ctx.target = state.target;
      const started = performance.now();
      try {
        const result = await engine.forward(ctx, state.target, {
          path,
          headers: upstreamRequestHeaders(ctx, state.target, service.preserveHost),
          timeout,
          transport: transport(),
          fresh,
        });
        pool.release(state, result.status >= 500 ? 'http-5xx' : 'ok');
        ctx.bytesSent = result.bytes;
        const ended = performance.now();
        metrics.upstreamFinished(serviceName, (ended - started) / 1000, 'ok');
        // The clock read above, as epoch ms: a second clock read costs more than the recording.
        state.window.record(ended - started, result.status >= 500, performance.timeOrigin + ended);
        return;
      } catch (err) {
        if (errorCode(err) === 'GW_CLIENT_ABORTED') {
          pool.release(state, 'aborted');
          return;
        }
        const outcome = classifyUpstreamError(err);
        pool.release(state, outcome);
        const ended = performance.now();
        metrics.upstreamFinished(serviceName, (ended - started) / 1000, outcome);
        state.window.record(ended - started, true, performance.timeOrigin + ended);
        if (
          mayRetry &&
          tried.length < maxRetries &&
          !ctx.res.headersSent &&
          !ctx.res.destroyed &&
          retryableFailure(err) &&
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
  };
}

/**
 * The terminal handler of a WebSocket upgrade on a proxy route, after the route's whole chain (auth,
 * rate limit) has run. The handshake may be retried on another target while the upstream could not be
 * reached; once anything was written to the client, it is the client's to handle.
 *
 * @example
 * const proxyUpgrade = upgradeTo(route, { pool, engine: httpProxyEngine, metrics, tlsProvider: undefined });
 */
export function upgradeTo(route: Route, deps: Omit<ForwardDeps, 'engine'> & { engine: HttpProxyEngine }) {
  const service = route.service!;
  const serviceName = route.serviceName!;
  const { timeout, transport } = transportFor(route, deps as ForwardDeps);
  const maxRetries = service.retry.attempts;
  const { pool, engine, metrics } = deps;

  return async function proxyUpgrade(ctx: UpgradeContext): Promise<void> {
    const { socket, head } = ctx.upgrade!;
    const path = ctx.route.upstreamPath + ctx.search;
    let tried = NONE;
    for (;;) {
      const state = pool.pick(tried);
      ctx.target = state.target;
      const started = performance.now();
      try {
        const result = await engine.upgrade(ctx, socket as Socket, head, state.target, {
          path,
          headers: upstreamRequestHeaders(ctx, state.target, service.preserveHost),
          timeout,
          // A tunnel may stay quiet for long: the idle timeout is not for it.
          transport: { ...transport(), idleTimeout: 0 },
        });
        ctx.tunnelStatus = result.status;
        if (result.status === 0) {
          pool.release(state, 'aborted');
          return;
        }
        pool.release(state, result.status >= 500 ? 'http-5xx' : 'ok');
        metrics.upstreamFinished(serviceName, (result.answeredAt - started) / 1000, 'ok');
        return;
      } catch (err) {
        const outcome = classifyUpstreamError(err);
        pool.release(state, outcome);
        metrics.upstreamFinished(serviceName, (performance.now() - started) / 1000, outcome);
        if (
          tried.length < maxRetries &&
          !socket.destroyed &&
          retryableFailure(err) &&
          pool.tryRetry(state, outcome)
        ) {
          tried = [...tried, state];
          continue;
        }
        throw toGatewayError(err, serviceName);
      }
    }
  };
}
