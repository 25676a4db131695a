import type { IncomingHttpHeaders } from 'node:http';
import type {
  ForwardResult,
  GatewayContext,
  OutgoingRequest,
  ProxyEngine,
  Target,
  TransportOptions,
} from '../types.js';
import { type Dispatcher, Pool } from '../upstream/undici-parts.js';
import { armed, ClientAbortedError } from './engine-contract.js';
import { clientResponseHeaders, trailerFields } from './headers.js';
import { hasRequestBody } from './request-body.js';
import { UpstreamDeadlineError } from './upstream-error.js';

export interface UndiciEngineOptions {
  /** Most connections kept to one target; bounds what one upstream can make the gateway hold. */
  connectionsPerTarget?: number;
}

/**
 * Forwards plain HTTP with undici's dispatcher API: one keep-alive `Pool` per target and transport,
 * request and response bodies streamed with backpressure, nothing buffered.
 */
export class UndiciEngine implements ProxyEngine {
  readonly name = 'undici';
  readonly #pools = new Map<string, Pool>();
  /** The transport key each pool was made for (see `TransportOptions.slot`). */
  readonly #keys = new Map<string, string>();
  readonly #connections: number;

  constructor(opts: UndiciEngineOptions = {}) {
    this.#connections = opts.connectionsPerTarget ?? 256;
  }

  forward(ctx: GatewayContext, target: Target, outgoing: OutgoingRequest): Promise<ForwardResult> {
    // `fresh`: a pool of one connection, for this request only, closed once it is over.
    const once = outgoing.fresh === true ? this.#newPool(target, outgoing.transport, 1) : undefined;
    const pool = once ?? this.#pool(target, outgoing.transport);
    const sent = new Promise<ForwardResult>((resolve, reject) => {
      const handler = new StreamToClient(ctx, resolve, reject, outgoing.deadline);
      pool.dispatch(
        {
          path: outgoing.path,
          method: ctx.req.method as Dispatcher.HttpMethod,
          headers: outgoing.headers as Record<string, string | string[]>,
          body: hasRequestBody(ctx.req) ? ctx.body : null,
          // 0 is "none" to undici, as to every engine (the config refuses 0).
          headersTimeout: armed(outgoing.timeout) ? outgoing.timeout : 0,
          bodyTimeout: outgoing.transport.idleTimeout,
          // Retries are the gateway's decision (it knows the method, the budget and other targets).
          idempotent: false,
        },
        handler,
      );
    });
    if (once === undefined) return sent;
    const release = () => void once.close().catch(() => once.destroy());
    sent.then(release, release);
    return sent;
  }

  /** Closes the pools of targets that are gone (after discovery changes). */
  retain(liveTargetIds: ReadonlySet<string>): void {
    for (const [key, pool] of this.#pools) {
      const id = key.slice(key.indexOf('|') + 1);
      if (!liveTargetIds.has(id)) {
        this.#pools.delete(key);
        this.#keys.delete(key);
        void pool.close().catch(() => {});
      }
    }
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    this.#keys.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => p.destroy())));
  }

  /** Connection pools held (one per transport key and target). */
  get size(): number {
    return this.#pools.size;
  }

  #pool(target: Target, transport: TransportOptions): Pool {
    const key = `${transport.slot ?? transport.key}|${target.id}`;
    let pool = this.#pools.get(key);
    if (pool !== undefined && this.#keys.get(key) !== transport.key) {
      // Rotated TLS material: one pool per target, so the old one goes. close() lets the requests
      // it carries finish first, then closes its sockets.
      void pool.close().catch(() => {});
      pool = undefined;
    }
    if (pool === undefined) {
      pool = this.#newPool(target, transport, this.#connections);
      this.#pools.set(key, pool);
      this.#keys.set(key, transport.key);
    }
    return pool;
  }

  #newPool(target: Target, transport: TransportOptions, connections: number): Pool {
    const tls = transport.tls;
    return new Pool(target.url.origin, {
      connections,
      pipelining: 1,
      connectTimeout: transport.connectTimeout,
      keepAliveTimeout: 4_000,
      // Leaves a margin before the upstream's advertised keep-alive timeout, so we do not reuse a
      // socket it is about to close (the idle keep-alive race).
      keepAliveTimeoutThreshold: 1_500,
      connect: tls ? { ...tls, timeout: transport.connectTimeout } : { timeout: transport.connectTimeout },
    });
  }
}

/** Streams one upstream answer into the client's response. One object per request, no closures. */
class StreamToClient implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #status = 0;
  #bytes = 0;
  #settled = false;
  #deadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly resolve: (r: ForwardResult) => void,
    private readonly reject: (err: unknown) => void,
    deadline: number | undefined,
  ) {
    // `on`, not `once`: 'close' fires once anyway, and `once` allocates a wrapper per request.
    ctx.res.on('close', this.#onClientClose);
    if (armed(deadline)) this.#deadline = setTimeout(this.#onDeadline, deadline, deadline);
  }

  #onDeadline = (ms: number) => {
    const err = new UpstreamDeadlineError(ms);
    if (this.#controller !== undefined) this.#controller.abort(err);
    this.#settle(err);
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.ctx.res.destroyed) controller.abort(new ClientAbortedError());
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (statusCode < 200) return; // informational answers (100, 103) are not relayed
    const res = this.ctx.res;
    if (res.destroyed) {
      controller.abort(new ClientAbortedError());
      return;
    }
    this.#status = statusCode;
    // HTTP/2 has no reason phrase (RFC 9113 §8.3.2): Node warns if one is given.
    const reason = this.ctx.req.httpVersionMajor === 2 ? undefined : statusMessage || undefined;
    res.writeHead(statusCode, reason, clientResponseHeaders(this.ctx, headers));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (!this.ctx.res.write(chunk)) {
      controller.pause();
      this.ctx.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    const relayed = trailerFields(trailers);
    if (relayed !== undefined) this.ctx.res.addTrailers(relayed);
    this.ctx.res.end();
    this.#settle(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    // After the status line went out the only honest signal is a cut connection, never a body
    // that looks complete: the gateway's error path destroys the response when headers were sent.
    this.#settle(err);
  }

  #onClientClose = () => {
    if (!this.ctx.res.writableFinished && !this.#settled) this.#controller?.abort(new ClientAbortedError());
  };

  #settle(err: Error | undefined) {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#deadline);
    this.ctx.res.off('close', this.#onClientClose);
    if (err === undefined) this.resolve({ status: this.#status, bytes: this.#bytes });
    else this.reject(err);
  }
}
