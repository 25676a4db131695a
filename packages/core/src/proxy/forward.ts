import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { GatewayMetrics } from '../observability/metrics.js';
import type {
  GatewayContext,
  ProxyEngine,
  Route,
  ServiceConfig,
  TlsOptions,
  TlsProvider,
  TransportOptions,
} from '../types.js';
import type { UpstreamPool } from '../upstream/pool.js';
import { upstreamRequestHeaders } from './headers.js';
import type { HttpProxyEngine } from './http-proxy-engine.js';
import { hasRequestBody } from './request-body.js';
import { classifyUpstreamError, errorCode, retryableFailure, toGatewayError } from './upstream-error.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export interface ForwardDeps {
  pool: UpstreamPool;
  engine: ProxyEngine;
  metrics: GatewayMetrics;
  /** TLS from a plugin (e.g. Consul Connect); takes precedence over the service's own `tls` files. */
  tlsProvider: TlsProvider | undefined;
}

/** Reads the service's `tls` files once, at build time. */
export function staticTls(tls: ServiceConfig['tls']): TlsOptions | undefined {
  if (!tls) return undefined;
  const read = (p: string | undefined) => (p === undefined ? undefined : readFileSync(p));
  return {
    ...(tls.ca && { ca: read(tls.ca)! }),
    ...(tls.cert && { cert: read(tls.cert)! }),
    ...(tls.key && { key: read(tls.key)! }),
    ...(tls.servername && { servername: tls.servername }),
    rejectUnauthorized: tls.rejectUnauthorized,
  };
}

/**
 * The terminal handler of a proxy route: pick a target, forward, and retry a failure only when it is
 * certainly safe (idempotent, body-less, nothing received yet, budget left), on another target.
 */
export function forwardTo(route: Route, deps: ForwardDeps) {
  const service = route.service!;
  const serviceName = route.serviceName!;
  const timeout = route.config.timeout ?? service.timeout;
  const fixedTls = staticTls(service.tls);
  const baseTransport: TransportOptions = {
    key: serviceName,
    connectTimeout: service.timeouts.connect,
    idleTimeout: service.timeouts.idle,
    tls: fixedTls,
  };
  const { pool, engine, metrics, tlsProvider } = deps;

  const transport = (): TransportOptions => {
    const tls = tlsProvider?.current();
    if (!tls) return baseTransport;
    return { ...baseTransport, key: `${serviceName}:${tls.version}`, tls };
  };

  return async function proxy(ctx: GatewayContext): Promise<void> {
    const method = ctx.req.method ?? 'GET';
    const canRetry = service.retry.attempts > 0 && IDEMPOTENT.has(method) && !hasRequestBody(ctx.req);
    const path = ctx.route.upstreamPath + ctx.search;
    let attempt = 0;
    let exclude: ReturnType<UpstreamPool['pick']> | undefined;
    for (;;) {
      const state = pool.pick(exclude);
      ctx.target = state.target;
      const started = performance.now();
      try {
        const result = await engine.forward(ctx, state.target, {
          path,
          headers: upstreamRequestHeaders(ctx, state.target, service.preserveHost),
          timeout,
          transport: transport(),
        });
        pool.release(state, result.status >= 500 ? 'http-5xx' : 'ok');
        (ctx as { bytesSent?: number }).bytesSent = result.bytes;
        metrics.upstreamFinished(serviceName, (performance.now() - started) / 1000, 'ok');
        return;
      } catch (err) {
        if (errorCode(err) === 'GW_CLIENT_ABORTED') {
          pool.release(state, 'aborted');
          return;
        }
        const outcome = classifyUpstreamError(err);
        pool.release(state, outcome);
        metrics.upstreamFinished(serviceName, (performance.now() - started) / 1000, outcome);
        if (
          canRetry &&
          attempt < service.retry.attempts &&
          !ctx.res.headersSent &&
          retryableFailure(err) &&
          pool.tryRetry()
        ) {
          attempt++;
          exclude = state;
          ctx.log.debug(
            { target: state.target.id, code: errorCode(err), attempt },
            'retrying on another target',
          );
          continue;
        }
        if (ctx.res.headersSent)
          ctx.log.warn({ target: state.target.id, code: errorCode(err) }, 'upstream failed mid-response');
        throw toGatewayError(err, serviceName);
      }
    }
  };
}

/** The terminal handler of a WebSocket upgrade on a proxy route (always carried by http-proxy-3). */
export function upgradeTo(route: Route, deps: Omit<ForwardDeps, 'engine'> & { engine: HttpProxyEngine }) {
  const service = route.service!;
  const serviceName = route.serviceName!;
  const fixedTls = staticTls(service.tls);
  return async function proxyUpgrade(ctx: GatewayContext & { upgrade?: { socket: Duplex; head: Buffer } }) {
    const state = deps.pool.pick();
    ctx.target = state.target;
    const tls = deps.tlsProvider?.current() ?? fixedTls;
    const { socket, head } = ctx.upgrade!;
    // The socket leaves the response object now: from here bytes flow between client and upstream.
    ctx.res.detachSocket(socket as import('node:net').Socket);
    try {
      await deps.engine.upgrade(ctx, socket, head, state.target, {
        path: ctx.route.upstreamPath + ctx.search,
        headers: upstreamRequestHeaders(ctx, state.target, service.preserveHost),
        timeout: route.config.timeout ?? service.timeout,
        transport: {
          key: `${serviceName}:ws`,
          connectTimeout: service.timeouts.connect,
          idleTimeout: 0,
          tls,
        },
      });
      deps.pool.release(state, 'ok');
    } catch (err) {
      deps.pool.release(state, classifyUpstreamError(err));
      socket.destroy();
    }
  };
}
