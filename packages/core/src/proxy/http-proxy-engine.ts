import { type ClientRequest, Agent as HttpAgent, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import type * as HttpProxy3 from 'http-proxy-3';
import type {
  ForwardResult,
  GatewayContext,
  OutgoingRequest,
  ProxyEngine,
  Target,
  TransportOptions,
} from '../types.js';
import { armed, ClientAbortedError } from './engine-contract.js';
import { addGatewayResponseHeaders, stripHopByHop } from './headers.js';
import { hasRequestBody } from './request-body.js';
import { UpstreamDeadlineError, UpstreamIdleTimeoutError, UpstreamTimeoutError } from './upstream-error.js';

const requireHere = createRequire(import.meta.url);
type ProxyServer = HttpProxy3.ProxyServer;

const kCtx = Symbol('lucid.ctx');
const kTimeout = Symbol('lucid.responseTimeout');
const kIdle = Symbol('lucid.idleTimeout');
const kBytes = Symbol('lucid.bytes');
const kProxyReq = Symbol('lucid.proxyReq');

type CarriesCtx = IncomingMessage & {
  [kCtx]?: GatewayContext;
  [kBytes]?: number;
  [kProxyReq]?: ClientRequest;
};

/** Forwards plain HTTP with http-proxy-3 over node:http keep-alive agents (one per target and transport). */
export class HttpProxyEngine implements ProxyEngine {
  readonly name = 'http-proxy';
  readonly #agents = new Map<string, HttpAgent>();
  /**
   * Made at the first request: only a gateway on this engine needs http-proxy-3, so one on the default
   * engine never loads it (a few MB on a small device).
   */
  #proxy: ProxyServer | undefined;

  #server(): ProxyServer {
    if (this.#proxy) return this.#proxy;
    const { createProxyServer } = requireHere('http-proxy-3') as typeof HttpProxy3;
    const proxy = createProxyServer({ xfwd: false, prependPath: true, changeOrigin: false });
    // Registered once: per-request work finds its context on the request.
    proxy.on('proxyReq', (proxyReq: ClientRequest, req: IncomingMessage, _res: unknown, options: unknown) => {
      (req as CarriesCtx)[kProxyReq] = proxyReq;
      const idle = (options as { [kIdle]?: number })[kIdle];
      if (armed(idle)) proxyReq.setTimeout(idle, () => proxyReq.destroy(new UpstreamIdleTimeoutError(idle)));
      const ms = (options as { [kTimeout]?: number })[kTimeout];
      if (!armed(ms)) return;
      const timer = setTimeout(() => proxyReq.destroy(new UpstreamTimeoutError(ms)), ms);
      proxyReq.once('response', () => clearTimeout(timer));
      proxyReq.once('close', () => clearTimeout(timer));
    });
    proxy.on('proxyRes', (proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse) => {
      stripHopByHop(proxyRes.headers);
      // Ours to decide, not the upstream's: http-proxy-3 would otherwise write `keep-alive`, and Node then
      // keeps the client's connection open even after the client (or a draining gateway) asked for close.
      proxyRes.headers.connection = res.shouldKeepAlive ? 'keep-alive' : 'close';
      const ctx = (req as CarriesCtx)[kCtx];
      if (ctx) addGatewayResponseHeaders(ctx, proxyRes.headers);
      (req as CarriesCtx)[kBytes] = 0;
      proxyRes.on('data', (chunk: Buffer) => {
        (req as CarriesCtx)[kBytes]! += chunk.length;
      });
      // A reset mid-body must reach the client as a cut connection, not a body that looks complete.
      proxyRes.once('close', () => {
        if (!proxyRes.complete) res.destroy();
      });
    });
    this.#proxy = proxy;
    return proxy;
  }

  forward(ctx: GatewayContext, target: Target, outgoing: OutgoingRequest): Promise<ForwardResult> {
    const { req, res } = ctx;
    // Decided on the client's headers: the upstream's, swapped in below, carry no Transfer-Encoding.
    const limitedBody = hasRequestBody(req) && ctx.body !== req ? ctx.body : undefined;
    (req as CarriesCtx)[kCtx] = ctx;
    req.url = outgoing.path;
    req.headers = outgoing.headers as IncomingMessage['headers'];
    return new Promise<ForwardResult>((resolve, reject) => {
      let failed = false;
      let deadline: NodeJS.Timeout | undefined;
      const onClose = () => {
        clearTimeout(deadline);
        if (failed) return;
        if (res.writableFinished)
          resolve({ status: res.statusCode, bytes: (req as CarriesCtx)[kBytes] ?? 0 });
        else reject(new ClientAbortedError());
      };
      res.once('close', onClose);
      const ms = outgoing.deadline;
      if (armed(ms)) {
        // The whole exchange, head and body: past it the upstream request is cancelled and a
        // response already started is cut (never ended as if complete).
        deadline = setTimeout(() => {
          if (failed) return;
          failed = true;
          res.off('close', onClose);
          const err = new UpstreamDeadlineError(ms);
          (req as CarriesCtx)[kProxyReq]?.destroy(err);
          if (res.headersSent) res.destroy();
          reject(err);
        }, ms);
      }
      if (ctx.body !== req) {
        // A wrapped body (the size limit) fails on its own: abort the upstream request and answer.
        ctx.body.once('error', (err) => {
          if (failed) return;
          failed = true;
          clearTimeout(deadline);
          res.off('close', onClose);
          (req as CarriesCtx)[kProxyReq]?.destroy();
          reject(err);
        });
      }
      this.#server().web(
        req,
        res,
        {
          target: target.url,
          agent: outgoing.fresh ? false : this.#agent(target, outgoing.transport),
          ...(outgoing.transport.tls ?? {}),
          buffer: limitedBody,
          connectTimeout: outgoing.transport.connectTimeout,
          [kTimeout]: outgoing.timeout,
          [kIdle]: outgoing.transport.idleTimeout,
        } as never,
        (err: Error) => {
          if (failed) return;
          failed = true;
          clearTimeout(deadline);
          res.off('close', onClose);
          reject(res.destroyed && !res.headersSent ? new ClientAbortedError() : err);
        },
      );
    });
  }

  /** Lets go of the agents of targets that are gone (after discovery changes or a reload). */
  retain(liveTargetIds: ReadonlySet<string>): void {
    for (const [key, agent] of this.#agents) {
      if (liveTargetIds.has(key.slice(key.indexOf('|') + 1))) continue;
      this.#agents.delete(key);
      // Requests in flight finish on their sockets, which then close; idle ones close now.
      (agent as HttpAgent & { keepAlive: boolean }).keepAlive = false;
      for (const sockets of Object.values(agent.freeSockets)) for (const s of sockets ?? []) s.destroy();
    }
  }

  async close(): Promise<void> {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
    this.#proxy?.close();
    this.#proxy = undefined;
  }

  #agent(target: Target, transport: TransportOptions): HttpAgent {
    const key = `${transport.key}|${target.id}`;
    let agent = this.#agents.get(key);
    if (agent === undefined) {
      const opts = {
        keepAlive: true,
        maxSockets: 256,
        maxFreeSockets: 64,
        timeout: transport.idleTimeout,
        scheduling: 'lifo' as const,
      };
      agent =
        target.url.protocol === 'https:'
          ? new HttpsAgent({ ...opts, ...(transport.tls ?? {}) })
          : new HttpAgent(opts);
      this.#agents.set(key, agent);
    }
    return agent;
  }
}
