import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { RequestContext } from '../context.js';
import { GatewayError } from '../errors.js';
import { grpcStatusAtEnd, grpcStatusName } from '../grpc/outcome.js';
import { clientAddress } from '../http/client-address.js';
import { headArrived } from '../http/connection-guard.js';
import { closeAfterRepairedFraming } from '../http/framing.js';
import { requestIdOf, traceparentOf } from '../http/request-id.js';
import type { AccessLog } from '../observability/access-log.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { UpgradeContext } from '../proxy/forward.js';
import { closeSoon } from '../proxy/websocket-tunnel.js';
import { Router } from '../routing/router.js';
import type { Runtime } from '../runtime.js';
import type { RequestTracer } from '../types.js';
import { answerError } from './answer-error.js';
import { routeRequest } from './route-request.js';

export interface RequestDeps {
  /** The runtime in use now; a request keeps the one it started on. */
  runtime(): Runtime;
  logger: Logger;
  metrics: GatewayMetrics;
  accessLog: AccessLog;
  /** True once the gateway drains: answers close their connection. */
  draining(): boolean;
  /** While draining, closes connections that just went idle. */
  closeIdle(): void;
  /** Client sockets on the upgrade path (handshaking or joined), for the gateway to cut on close. */
  upgraded: Set<Duplex>;
  /** A plugin's tracer, when one traces requests. */
  tracer: RequestTracer | undefined;
  /** The admin listener's requests: routed among the admin built-ins (`server.admin`). */
  admin?: boolean;
}

// The admin listener of a runtime without one (a reload took `server.admin` away): nothing to route.
const NO_ROUTES = new Router([]);

/**
 * One request's life, HTTP or WebSocket upgrade: context, the checks before routing, the route's
 * chain, the error answer, then one access line and the metrics once it is over.
 */
export class RequestLifecycle {
  constructor(private readonly deps: RequestDeps) {}

  /** The per-request entry point; everything on this path is precompiled in the runtime. */
  handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (closeAfterRepairedFraming(req, res)) return;
    const rt = this.deps.runtime();
    rt.inFlight++;
    const ctx = this.#context(req, res, rt);
    this.deps.metrics.requestStarted();
    if (this.deps.draining()) res.shouldKeepAlive = false;
    // Log and count once the response closed and the pipeline settled: the proxy knows the bytes sent only then.
    let open = 2;
    const done = () => {
      if (--open === 0) this.#finish(ctx, rt);
    };
    res.on('close', done); // fires once; `on` spares `once`'s wrapper
    this.#handle(ctx, rt).then(done, (err: unknown) => {
      try {
        ctx.trace?.failed(err);
        answerError(ctx, err);
      } finally {
        done();
      }
    });
  };

  upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    headArrived(socket);
    const rt = this.deps.runtime();
    rt.inFlight++;
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    const ctx = this.#context(req, res, rt) as RequestContext & Partial<UpgradeContext>;
    ctx.upgrade = { socket, head };
    this.deps.metrics.requestStarted();
    socket.on('error', () => socket.destroy());
    this.deps.upgraded.add(socket);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.deps.upgraded.delete(socket);
      // A joined tunnel answered 101 (or relayed the upstream's answer); a refusal went through res.
      const status = ctx.tunnelStatus || (res.headersSent ? res.statusCode : 499);
      this.#finish(ctx, rt, status);
    };
    socket.once('close', finish);
    this.#handleUpgrade(ctx, rt)
      .catch((err) => {
        ctx.trace?.failed(err);
        answerError(ctx, err);
        res.once('finish', () => closeSoon(socket as Socket));
      })
      .finally(() => {
        if (socket.destroyed) finish();
      });
  };

  async #handle(ctx: RequestContext, rt: Runtime): Promise<void> {
    const router = this.deps.admin ? (rt.adminRouter ?? NO_ROUTES) : rt.router;
    if (!routeRequest(ctx, rt, router)) return; // answered by CORS preflight
    rt.limitBody(ctx);
    const chain = rt.chains.get(ctx.route.route);
    if (chain === undefined) throw new Error(`no chain for route "${ctx.route.route.id}"`);
    await chain(ctx);
  }

  async #handleUpgrade(ctx: RequestContext, rt: Runtime): Promise<void> {
    // Only WebSocket is carried: other upgrades (h2c) would let a client tunnel past the gateway's checks.
    if (ctx.req.method !== 'GET' || String(ctx.req.headers.upgrade).toLowerCase() !== 'websocket') {
      throw new GatewayError('GW_BAD_REQUEST', { detail: 'only WebSocket upgrades are supported' });
    }
    if (!routeRequest(ctx, rt)) return;
    const chain = rt.upgradeChains.get(ctx.route.route);
    if (!chain) throw new GatewayError('GW_ROUTE_NOT_FOUND', { detail: 'no WebSocket route for this path' });
    await chain(ctx);
  }

  /** One request's state, from what the gateway itself knows about the connection. */
  #context(req: IncomingMessage, res: ServerResponse, rt: Runtime): RequestContext {
    const ctx = new RequestContext(
      req,
      res,
      requestIdOf(req),
      traceparentOf(req),
      clientAddress(req, rt.trust),
      this.deps.logger,
    );
    if (this.deps.tracer !== undefined) ctx.trace = this.deps.tracer.start(ctx);
    return ctx;
  }

  #finish(ctx: RequestContext, rt: Runtime, answered?: number): void {
    rt.requestDone();
    // While draining, a connection whose last request just finished is idle: close it now rather
    // than wait for the client's keep-alive to lapse.
    if (this.deps.draining()) this.deps.closeIdle();
    const res = ctx.res;
    const status = answered ?? (res.writableFinished ? res.statusCode : 499);
    if (ctx.grpc !== undefined) {
      ctx.grpcStatus = grpcStatusAtEnd(ctx, status);
      this.deps.metrics.grpcFinished(ctx.route?.route.id ?? 'unmatched', grpcStatusName(ctx.grpcStatus));
    }
    ctx.trace?.end(ctx, status);
    this.deps.metrics.requestFinished(
      ctx.route?.route.id ?? 'unmatched',
      ctx.req.method ?? 'GET',
      status,
      (performance.now() - ctx.startedAt) / 1000,
    );
    if (rt.config.logging.accessLog) {
      const bytes = ctx.bytesSent ?? Number(res.getHeader('content-length') ?? 0);
      this.deps.accessLog(ctx, status, bytes);
    }
  }
}
